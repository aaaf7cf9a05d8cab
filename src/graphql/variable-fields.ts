import {
  getNamedType,
  GraphQLError,
  isInputObjectType,
  isListType,
  isNonNullType,
  typeFromAST,
  type GraphQLInputType,
  type GraphQLType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

/**
 * The most elements a list in an operation's variables may hold: above every list argument's
 * own limit (100 sends, 500 ids). graphql-jit, which runs a document from its second use,
 * checks every element of a list variable and keeps an error for each that does not coerce,
 * with no cap (graphql-js stops at 50): a list of millions in one body held the event loop
 * for seconds.
 */
export const MAX_VARIABLE_LIST = 10_000;

/**
 * The first member of an operation's variables that names no field of its input object type,
 * or the first list longer than MAX_VARIABLE_LIST, as a refusal; null when there is none.
 * graphql-js reports each unknown member (up to 50) with the whole object it sits in printed
 * into the message, so an object of many unknown keys costs it seconds and tens of megabytes
 * of errors; this walk costs one look per member and stops at the first. Everything else
 * about the values is left to graphql-js.
 */
export function refusedVariable(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  variables: unknown,
): GraphQLError | null {
  if (typeof variables !== 'object' || variables === null) return null;
  if (!needsWalk(schema, operation)) return null;
  const values = variables as Record<string, unknown>;
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const type = typeFromAST(schema, definition.type) as GraphQLInputType | undefined;
    if (type === undefined || !Object.hasOwn(values, name)) continue;
    const found = firstRefused(type, values[name], name);
    if (found !== null && 'length' in found) {
      return new GraphQLError(
        `Variable "$${name}" got invalid value at "${found.path}": a list of ${found.length} elements; the limit is ${MAX_VARIABLE_LIST}.`,
        {
          extensions: {
            code: 'BAD_USER_INPUT',
            field: `variables.${found.path}`,
            limit: MAX_VARIABLE_LIST,
          },
        },
      );
    }
    if (found !== null) {
      const { path, typeName } = found;
      return new GraphQLError(
        `Variable "$${name}" got invalid value at "${path}": "${path.slice(path.lastIndexOf('.') + 1)}" is not a field of input type "${typeName}".`,
        { extensions: { code: 'BAD_USER_INPUT', field: `variables.${path}` } },
      );
    }
  }
  return null;
}

/** Operations known to declare, or not, a variable that holds an input object or a list. */
const walkNeeded = new WeakMap<OperationDefinitionNode, boolean>();

/**
 * Whether `operation` has a variable whose type holds an input object or a list: decided
 * once per parsed operation (documents are cached parsed), so that an operation of plain
 * scalar variables costs no walk.
 */
function needsWalk(schema: GraphQLSchema, operation: OperationDefinitionNode): boolean {
  let known = walkNeeded.get(operation);
  if (known === undefined) {
    known = (operation.variableDefinitions ?? []).some((definition) => {
      const type = typeFromAST(schema, definition.type);
      return type !== undefined && (isInputObjectType(getNamedType(type)) || holdsList(type));
    });
    walkNeeded.set(operation, known);
  }
  return known;
}

function holdsList(type: GraphQLType): boolean {
  return isListType(type) || (isNonNullType(type) && isListType(type.ofType));
}

/** What the walk refuses: an unknown member, and the type it is not in; or a list too long. */
type Refused = { path: string; typeName: string } | { path: string; length: number };

/** The first unknown member or overlong list under `value` of `type`. */
function firstRefused(type: GraphQLInputType, value: unknown, path: string): Refused | null {
  if (value === null || value === undefined) return null;
  if (isNonNullType(type)) return firstRefused(type.ofType, value, path);
  if (isListType(type)) {
    if (!Array.isArray(value)) return firstRefused(type.ofType, value, path);
    if (value.length > MAX_VARIABLE_LIST) return { path, length: value.length };
    for (let index = 0; index < value.length; index++) {
      const found = firstRefused(type.ofType, value[index], `${path}.${index}`);
      if (found !== null) return found;
    }
    return null;
  }
  if (!isInputObjectType(type) || typeof value !== 'object' || Array.isArray(value)) return null;
  const fields = type.getFields();
  const members = value as Record<string, unknown>;
  for (const key of Object.keys(members)) {
    if (!Object.hasOwn(fields, key)) return { path: `${path}.${key}`, typeName: type.name };
  }
  for (const key of Object.keys(members)) {
    const found = firstRefused(fields[key].type, members[key], `${path}.${key}`);
    if (found !== null) return found;
  }
  return null;
}
