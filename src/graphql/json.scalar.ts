import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { exceedsJsonDepth, RENDERABLE_JSON_DEPTH } from '../common/json-depth';
import { UnreadableJson } from '../common/stored-json';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

type JsonContainer = Json[] | { [key: string]: Json };

/** Sets an entry as JSON.parse does: a `__proto__` key is an own entry, not the prototype. */
function put(container: JsonContainer, key: string | number, value: Json): void {
  if (key === '__proto__') {
    Object.defineProperty(container, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else {
    (container as Record<string | number, Json>)[key] = value;
  }
}

/**
 * The value of a literal in the document. Iterative, with its own stack: a literal nested
 * deeper than the call stack allows is refused by the field's depth check, not by a crash.
 * Depth is not limited here, since the limit and the field to name are the caller's (see
 * exceedsJsonDepth); the parser's token limit bounds how large a literal can be.
 */
function fromLiteral(root: ValueNode, variables?: Record<string, unknown> | null): Json {
  const result: Json[] = [null];
  const pending: Array<[node: ValueNode, container: JsonContainer, key: string | number]> = [
    [root, result, 0],
  ];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, container, key] = next;
    switch (node.kind) {
      case Kind.NULL:
        put(container, key, null);
        break;
      case Kind.BOOLEAN:
      case Kind.STRING:
      case Kind.ENUM:
        put(container, key, node.value);
        break;
      case Kind.INT:
      case Kind.FLOAT:
        put(container, key, Number(node.value));
        break;
      case Kind.VARIABLE:
        put(container, key, (variables?.[node.name.value] ?? null) as Json);
        break;
      case Kind.LIST: {
        const list: Json[] = node.values.map(() => null);
        put(container, key, list);
        for (let index = node.values.length - 1; index >= 0; index -= 1) {
          pending.push([node.values[index], list, index]);
        }
        break;
      }
      case Kind.OBJECT: {
        const object: { [key: string]: Json } = {};
        put(container, key, object);
        // Keys in the literal's order; the stack fills them first to last, so a repeated
        // key keeps its last value, as it would in JSON.
        for (const field of node.fields) put(object, field.name.value, null);
        for (let index = node.fields.length - 1; index >= 0; index -= 1) {
          const field = node.fields[index];
          pending.push([field.value, object, field.name.value]);
        }
        break;
      }
    }
  }
  return result[0];
}

/**
 * The field error for a stored value that cannot be returned: the field is null and the rest
 * of the response (the other messages of a page, the next events of a feed) goes on.
 */
function unreadable(problem: string, limit?: number): GraphQLError {
  return new GraphQLError(`the stored value ${problem} and cannot be returned`, {
    extensions: { code: 'INTERNAL_SERVER_ERROR', ...(limit === undefined ? {} : { limit }) },
  });
}

/**
 * Arbitrary JSON, as `metadata` carries it. Input depth is each field's own check (with the
 * configured limit and the field's name); the output is guarded here, because a value too
 * deep for JSON.stringify would fail the whole response, or end a subscription, instead of
 * its one field.
 */
export const JsonScalar = new GraphQLScalarType<Json, Json>({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (value) => {
    if (value instanceof UnreadableJson) throw unreadable(value.problem, value.limit);
    if (exceedsJsonDepth(value, RENDERABLE_JSON_DEPTH)) {
      throw unreadable(`nests deeper than ${RENDERABLE_JSON_DEPTH} levels`, RENDERABLE_JSON_DEPTH);
    }
    return value as Json;
  },
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
