import { OperationTypeNode, responsePathAsArray, type GraphQLResolveInfo } from 'graphql';
import { AppError } from '../common/app-error';
import { toGraphqlError } from '../graphql/graphql-error';

/**
 * Characters of message bodies one response may carry, past its first body: four full-size
 * messages at the default ROUTER_MAX_PAYLOAD_SIZE. A document
 * within every document limit (30 aliases of `messages(first: 500)`) could otherwise ask for
 * hundreds of megabytes of stored bodies, whose serialization stalls the service for
 * everyone and fails past the engine's string limit.
 */
export const MAX_RESPONSE_CONTENT_CHARS = 64 * 1024 * 1024;

/** The per-operation count the budget keeps, on the operation's context object. */
interface Counted {
  responseContentChars?: number;
}

export class ResponseTooLargeError extends AppError {
  constructor(path: string, limit: number) {
    super(
      'PAYLOAD_TOO_LARGE',
      `${path}: the message bodies of this response exceed the limit of ${limit} characters; ask for fewer messages (first) or leave out content`,
      { field: path, limit },
    );
  }
}

/**
 * Counts a body against its operation's MAX_RESPONSE_CONTENT_CHARS and returns it, or
 * throws ResponseTooLargeError for a body after the first that goes over. A subscription's event carries one
 * message and its execution may be shared by many subscribers: it is not counted, and its
 * context is not read.
 */
export function chargedContent(
  content: string,
  context: Counted | undefined,
  info: GraphQLResolveInfo | null | undefined,
): string {
  if (!info || info.operation.operation === OperationTypeNode.SUBSCRIPTION || !context) {
    return content;
  }
  const before = context.responseContentChars ?? 0;
  const total = before + content.length;
  context.responseContentChars = total;
  // The first body is always answered, so that a message larger than the budget (with
  // ROUTER_MAX_PAYLOAD_SIZE set past it) can still be read on its own.
  if (before > 0 && total > MAX_RESPONSE_CONTENT_CHARS) {
    // A field middleware's error reaches the response without the exception filter: it is
    // made a GraphQL error with its code here, which graphql-js keeps when it locates it.
    throw toGraphqlError(
      new ResponseTooLargeError(
        responsePathAsArray(info.path).join('.'),
        MAX_RESPONSE_CONTENT_CHARS,
      ),
      'the response budget',
    );
  }
  return content;
}
