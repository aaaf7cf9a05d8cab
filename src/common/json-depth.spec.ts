import fc from 'fast-check';
import { exceedsJsonDepth, mayExceedJsonDepth } from './json-depth';

/** `depth` objects, each the only entry of the one around it: `{"a":{"a":{}}}` is depth 3. */
function nestedObjects(depth: number): unknown {
  let value: unknown = {};
  for (let level = 1; level < depth; level += 1) value = { a: value };
  return value;
}

/** `depth` arrays, each the only element of the one around it: `[[[]]]` is depth 3. */
function nestedArrays(depth: number): unknown {
  let value: unknown = [];
  for (let level = 1; level < depth; level += 1) value = [value];
  return value;
}

/** The depth as defined, recursively: for the small values of the property tests only. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depthOf));
}

describe(exceedsJsonDepth.name, () => {
  it('counts scalars as depth 0 and each object or array as one level', () => {
    for (const scalar of [null, true, 0, 'text', ''])
      expect(exceedsJsonDepth(scalar, 0)).toBe(false);
    expect(exceedsJsonDepth({}, 1)).toBe(false);
    expect(exceedsJsonDepth({}, 0)).toBe(true);
    expect(exceedsJsonDepth({ a: [1, 'x'] }, 2)).toBe(false);
    expect(exceedsJsonDepth({ a: [1, 'x'] }, 1)).toBe(true);
  });

  it.each([
    ['objects', nestedObjects],
    ['arrays', nestedArrays],
  ])('accepts %s 32 deep and refuses 33 at a limit of 32', (_kind, nested) => {
    expect(exceedsJsonDepth(nested(32), 32)).toBe(false);
    expect(exceedsJsonDepth(nested(33), 32)).toBe(true);
  });

  it('finds the deepest branch wherever it is', () => {
    const wide = { first: 1, list: [{}, [], 'x', { b: [] }], last: { c: { d: nestedArrays(29) } } };

    expect(exceedsJsonDepth(wide, 32)).toBe(false);
    expect(exceedsJsonDepth(wide, 31)).toBe(true);
    expect(exceedsJsonDepth([1, 2, { a: nestedObjects(30) }, 3], 32)).toBe(false);
    expect(exceedsJsonDepth([1, 2, { a: nestedObjects(31) }, 3], 32)).toBe(true);
  });

  it('walks a value 100,000 deep without overflowing the stack', () => {
    const deep = nestedObjects(100_000);

    expect(exceedsJsonDepth(deep, 32)).toBe(true);
    expect(exceedsJsonDepth(deep, 99_999)).toBe(true);
    expect(exceedsJsonDepth(deep, 100_000)).toBe(false);
    expect(exceedsJsonDepth(nestedArrays(100_000), 100_000)).toBe(false);
  });

  it('never looks inside a container below the limit', () => {
    // Enumerating this object's entries throws: the walk must stop as soon as it sees it.
    const untouchable = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('looked below the limit');
        },
      },
    );

    expect(exceedsJsonDepth({ a: { b: untouchable } }, 2)).toBe(true);
    expect(() => exceedsJsonDepth({ a: { b: untouchable } }, 3)).toThrow('looked below the limit');
  });

  it('agrees with the recursive definition on any JSON value', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 8 }),
        fc.integer({ min: 0, max: 10 }),
        (value, limit) => {
          expect(exceedsJsonDepth(value, limit)).toBe(depthOf(value) > limit);
        },
      ),
    );
  });
});

describe(mayExceedJsonDepth.name, () => {
  it('answers false only for text too short to hold one level more than the limit', () => {
    expect(mayExceedJsonDepth(JSON.stringify(nestedArrays(32)), 32)).toBe(false);
    expect(mayExceedJsonDepth(JSON.stringify(nestedArrays(33)), 32)).toBe(true);
  });

  it('never answers false for the text of a value deeper than the limit', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 8 }),
        fc.integer({ min: 0, max: 10 }),
        (value, limit) => {
          if (exceedsJsonDepth(value, limit)) {
            expect(mayExceedJsonDepth(JSON.stringify(value), limit)).toBe(true);
          }
        },
      ),
    );
  });
});
