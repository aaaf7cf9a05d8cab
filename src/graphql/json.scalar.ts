import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function fromLiteral(node: ValueNode, variables?: Record<string, unknown> | null): Json {
  switch (node.kind) {
    case Kind.NULL:
      return null;
    case Kind.BOOLEAN:
    case Kind.STRING:
    case Kind.ENUM:
      return node.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(node.value);
    case Kind.LIST:
      return node.values.map((item) => fromLiteral(item, variables));
    case Kind.OBJECT:
      return Object.fromEntries(
        node.fields.map((field) => [field.name.value, fromLiteral(field.value, variables)]),
      );
    case Kind.VARIABLE:
      return (variables?.[node.name.value] ?? null) as Json;
  }
}

/** Arbitrary JSON, as `metadata` carries it. */
export const JsonScalar = new GraphQLScalarType<Json, Json>({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (value) => value as Json,
  parseValue: (value) => {
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
      throw new GraphQLError('a JSON value was expected', {
        extensions: { code: 'BAD_USER_INPUT' },
      });
    }
    return value as Json;
  },
  parseLiteral: (node, variables) => fromLiteral(node, variables),
});
