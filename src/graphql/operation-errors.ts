import { GraphQLError, Kind, type GraphQLFormattedError } from 'graphql';
import { formatError } from './graphql-error';

/**
 * Codes for the errors that graphql-js leaves without one, the codes GraphQL clients know
 * from Apollo Server. Both transports parse, validate and execute with graphql-js itself
 * (graphql-http over HTTP, graphql-ws over WebSocket) and answer through these functions: a
 * client reads the same `extensions.code` whichever way it sent the operation.
 */

/** How graphql-js begins the message of a document it could not parse. */
const SYNTAX_ERROR = 'Syntax Error: ';

/** graphql-js's closing hint that names schema types or fields ("Did you mean "x" or "y"?"). */
const SUGGESTION = /\s*Did you mean [^?]*\?$/;

/** `error` with `extensions` and `message` replaced, its source locations kept. */
function recoded(error: GraphQLError, message: string, code: string): GraphQLError {
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code },
  });
}

/**
 * A document the parser or the validation rules refused: GRAPHQL_PARSE_FAILED or
 * GRAPHQL_VALIDATION_FAILED (formatError then reads a bad argument value as BAD_USER_INPUT).
 * A refusal that already has a code (a document over the service's limits) keeps it. With
 * `hideSuggestions` (production) a validation message does not name schema fields the client
 * did not ask for.
 */
export function documentRefusal(error: GraphQLError, hideSuggestions: boolean): GraphQLError {
  if (error.extensions.code !== undefined) return error;
  if (error.message.startsWith(SYNTAX_ERROR))
    return recoded(error, error.message, 'GRAPHQL_PARSE_FAILED');
  const message = hideSuggestions ? error.message.replace(SUGGESTION, '') : error.message;
  return recoded(error, message, 'GRAPHQL_VALIDATION_FAILED');
}

/**
 * A document with several operations and no (or an unknown) operation name:
 * OPERATION_RESOLUTION_FAILURE, with graphql-js's own words. Refused here rather than left
 * to graphql-ws or graphql-http, whose answers would carry no code.
 */
export function operationNotFound(operationName: string | null | undefined): GraphQLError {
  const message = operationName
    ? `Unknown operation named "${operationName}".`
    : 'Must provide operation name if query contains multiple operations.';
  return new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } });
}

/**
 * graphql-js checks the variables against their declared types before it executes, and
 * reports a bad one as an error located at the variable's definition, without a code.
 */
function isVariableValueError(error: GraphQLError): boolean {
  return error.nodes?.length === 1 && error.nodes[0].kind === Kind.VARIABLE_DEFINITION;
}

/**
 * An error of an operation's result, as the client sees it: a variable of the wrong type or
 * a required one missing is the caller's input, BAD_USER_INPUT; every error then goes
 * through formatError.
 */
export function formatResultError(error: GraphQLError): GraphQLFormattedError {
  const formatted = error.toJSON();
  if (formatted.extensions?.code !== undefined || !isVariableValueError(error))
    return formatError(formatted);
  return formatError({
    ...formatted,
    extensions: { ...formatted.extensions, code: 'BAD_USER_INPUT' },
  });
}
