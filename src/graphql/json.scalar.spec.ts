import {
  buildSchema,
  execute,
  GraphQLError,
  Kind,
  parse,
  parseValue,
  type ObjectValueNode,
  type ValueNode,
} from 'graphql';
import { exceedsJsonDepth, RENDERABLE_JSON_DEPTH } from '../common/json-depth';
import { UnreadableJson } from '../common/stored-json';
import { JsonScalar } from './json.scalar';

/** `depth` objects, each the only entry of the one around it: `{"a":{"a":{}}}` is depth 3. */
function nested(depth: number): unknown {
  let value: unknown = {};
  for (let level = 1; level < depth; level += 1) value = { a: value };
  return value;
}

/** The literal `{a: {a: ... {}}}`, `depth` objects deep, built without the parser. */
function nestedLiteral(depth: number): ObjectValueNode {
  let node: ObjectValueNode = { kind: Kind.OBJECT, fields: [] };
  for (let level = 1; level < depth; level += 1) {
    node = {
      kind: Kind.OBJECT,
      fields: [{ kind: Kind.OBJECT_FIELD, name: { kind: Kind.NAME, value: 'a' }, value: node }],
    };
  }
  return node;
}

function literal(node: ValueNode, variables?: Record<string, unknown>): unknown {
  return JsonScalar.parseLiteral(node, variables);
}

describe(`${JsonScalar.name} scalar`, () => {
  describe('literals', () => {
    it('read as the JSON they spell', () => {
      expect(literal(parseValue('{a: [1, 2.5, "x", true, null, RED], b: {c: {}}, d: []}'))).toEqual(
        {
          a: [1, 2.5, 'x', true, null, 'RED'],
          b: { c: {} },
          d: [],
        },
      );
      expect(literal(parseValue('"text"'))).toBe('text');
      expect(literal(parseValue('null'))).toBeNull();
    });

    it('keep the order of keys, the last of a repeated key, and __proto__ as a plain key', () => {
      const value = literal(parseValue('{b: 1, a: {x: 1}, b: [2], __proto__: {polluted: true}}'));

      expect(Object.keys(value as object)).toEqual(['b', 'a', '__proto__']);
      expect(value).toEqual(JSON.parse('{"b":[2],"a":{"x":1},"__proto__":{"polluted":true}}'));
      expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('take the values of variables, null for a missing one', () => {
      expect(literal(parseValue('{a: $x, b: [$y]}'), { x: { deep: [1] } })).toEqual({
        a: { deep: [1] },
        b: [null],
      });
    });

    it('read a literal 100,000 deep without overflowing the stack', () => {
      const value = literal(nestedLiteral(100_000));

      expect(exceedsJsonDepth(value, 99_999)).toBe(true);
      expect(exceedsJsonDepth(value, 100_000)).toBe(false);
    });
  });

  describe('output', () => {
    it(`returns a value up to ${RENDERABLE_JSON_DEPTH} deep as it is`, () => {
      const value = nested(RENDERABLE_JSON_DEPTH);

      expect(JsonScalar.serialize(value)).toBe(value);
    });

    it('refuses a deeper value, or an unreadable stored one, with a GraphQL error', () => {
      expect(() => JsonScalar.serialize(nested(RENDERABLE_JSON_DEPTH + 1))).toThrow(
        new GraphQLError(
          `the stored value nests deeper than ${RENDERABLE_JSON_DEPTH} levels and cannot be returned`,
        ),
      );
      expect(() => JsonScalar.serialize(new UnreadableJson('{x', 'is not valid JSON'))).toThrow(
        'the stored value is not valid JSON and cannot be returned',
      );
    });

    it('fails only the field of the value it cannot return, and the rest renders', async () => {
      const schema = buildSchema(`
        scalar JSON
        type Item { name: String!, metadata: JSON }
        type Query { items: [Item!]! }
      `);
      Object.assign(schema.getType('JSON') as object, {
        serialize: JsonScalar.serialize,
        parseValue: JsonScalar.parseValue,
        parseLiteral: JsonScalar.parseLiteral,
      });
      const items = [
        { name: 'good', metadata: { ok: true } },
        { name: 'deep', metadata: nested(5_000) },
        { name: 'broken', metadata: new UnreadableJson('{x', 'is not valid JSON') },
        { name: 'last', metadata: null },
      ];

      const result = await execute({
        schema,
        document: parse('{ items { name metadata } }'),
        rootValue: { items },
      });

      expect(result.data).toEqual({
        items: [
          { name: 'good', metadata: { ok: true } },
          { name: 'deep', metadata: null },
          { name: 'broken', metadata: null },
          { name: 'last', metadata: null },
        ],
      });
      expect(result.errors?.map((error) => [error.path, error.extensions])).toEqual([
        [['items', 1, 'metadata'], { code: 'INTERNAL_SERVER_ERROR', limit: RENDERABLE_JSON_DEPTH }],
        [['items', 2, 'metadata'], { code: 'INTERNAL_SERVER_ERROR' }],
      ]);
      // What the transport does next: the response serializes.
      expect(() => JSON.stringify(result)).not.toThrow();
    });
  });
});
