import { RENDERABLE_JSON_DEPTH } from './json-depth';
import { readStoredJson, UnreadableJson } from './stored-json';

/** JSON text of `depth` nested arrays: `[[[]]]` is depth 3. */
function nestedText(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth);
}

describe(readStoredJson.name, () => {
  it('parses valid JSON as it is', () => {
    expect(readStoredJson('{"a":[1,"x",null,{"b":true}]}')).toEqual({
      a: [1, 'x', null, { b: true }],
    });
    expect(readStoredJson('null')).toBeNull();
  });

  it('reads text that is not JSON as unreadable, keeping the text', () => {
    const read = readStoredJson('{not json');

    expect(read).toBeInstanceOf(UnreadableJson);
    expect(read).toMatchObject({ text: '{not json', problem: 'is not valid JSON' });
  });

  it(`parses a value ${RENDERABLE_JSON_DEPTH} deep and reads one level deeper as unreadable`, () => {
    expect(readStoredJson(nestedText(RENDERABLE_JSON_DEPTH))).toBeInstanceOf(Array);

    const deeper = nestedText(RENDERABLE_JSON_DEPTH + 1);
    expect(readStoredJson(deeper)).toEqual(
      new UnreadableJson(deeper, `nests deeper than ${RENDERABLE_JSON_DEPTH} levels`, 1000),
    );
  });

  it('reads a value 100,000 deep as unreadable, without overflowing the stack', () => {
    const text = `${'{"a":'.repeat(99_999)}{}${'}'.repeat(99_999)}`;

    expect(readStoredJson(text)).toMatchObject({ text, limit: RENDERABLE_JSON_DEPTH });
  });
});
