import { Logger } from '@nestjs/common';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { ErrorCode } from '../common/app-error';
import { asClientError } from '../common/client-error';

const logger = new Logger('GraphQL');

/** The HTTP status a code would have, carried in extensions for clients that want one. */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'BAD_USER_INPUT':
      return 400;
    case 'UNAUTHENTICATED':
      return 401;
    case 'FORBIDDEN':
      return 403;
    case 'NOT_FOUND':
    case 'NO_RESPONDER':
      return 404;
    case 'PAYLOAD_TOO_LARGE':
      return 413;
    case 'RATE_LIMITED':
    case 'BUDGET_EXHAUSTED':
      return 429;
    case 'LOOP_DETECTED':
    case 'DUPLICATE':
      return 409;
    case 'PAUSED':
      return 423;
    case 'SERVICE_UNAVAILABLE':
      return 503;
    case 'STORE_FULL':
      return 507;
    case 'WEBSOCKET_REQUIRED':
      return 400;
    case 'INTERNAL_SERVER_ERROR':
      return 500;
  }
}

/**
 * Turns anything a resolver threw into what a client may see: a GraphQLError passes; anything
 * else is what asClientError makes of it (an AppError keeps its code, message and details, a
 * Redis failure is told as such, anything else is logged with its stack and reaches the
 * client as a bare internal error), with `status`. `requestId`, when the operation is known,
 * is the logged line's `reqId`.
 */
export function toGraphqlError(thrown: unknown, where: string, requestId?: string): GraphQLError {
  if (thrown instanceof GraphQLError) return thrown;
  const error = asClientError(thrown, logger, `unexpected error in ${where}`, {
    reqId: requestId,
  });
  return new GraphQLError(error.message, {
    extensions: { ...error.details, code: error.code, status: httpStatusOf(error.code) },
  });
}

const ARGUMENT_VALUE_ERROR =
  /^(Variable "\$[^"]+" got invalid value|Value ".*" does not exist in|Enum ".*" cannot represent|Expected value of type|Argument ".*" has invalid value|Int cannot represent|String cannot represent|Boolean cannot represent|ID cannot represent|Float cannot represent)/;

/**
 * The last word on every error a client reads: a value of the wrong type, a bad enum or a document over
 * the service's limits is the caller's input, so it reads BAD_USER_INPUT, and no stack trace
 * ever leaves the process.
 */
export function formatError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  const extensions = { ...formatted.extensions };
  delete extensions.stacktrace;
  delete extensions.exception;
  const documentLimit = formatted.message.startsWith('query: ') && extensions.limit !== undefined;
  if (
    code === 'GRAPHQL_VALIDATION_FAILED' &&
    (documentLimit || ARGUMENT_VALUE_ERROR.test(formatted.message))
  ) {
    extensions.code = 'BAD_USER_INPUT';
  }
  return { ...formatted, extensions };
}
