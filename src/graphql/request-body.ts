import { isUtf8 } from 'node:buffer';
import { documentOverLimit, documentTooLargeMessage } from './document-size';

/** A request body that cannot be taken, with the HTTP status that says why. */
export class BodyError extends Error {
  constructor(
    readonly statusCode: number,
    reason: string,
    /** The part of the body at fault, and its limit, when it is not the body as a whole. */
    readonly field: string = 'body',
    readonly limit?: number,
  ) {
    super(reason);
  }
}

/** What a client is told about a refused body: a GraphQL error naming the field and the limit. */
export interface BodyRefusal {
  status: number;
  body: { errors: Array<{ message: string; extensions: object }> };
}

/**
 * The same refusal as MCP clients read one: a JSON-RPC error without an id (the request's
 * could not be read), -32700 for a body that is not JSON and -32600 for one refused for its
 * size or type, with the GraphQL error's code, field and limit as its `data`.
 */
export function asJsonRpc(refused: BodyRefusal): object {
  const [{ message, extensions }] = refused.body.errors;
  return {
    jsonrpc: '2.0',
    id: null,
    error: { code: refused.status === 400 ? -32700 : -32600, message, data: extensions },
  };
}

function refusal(status: number, message: string, extensions: object): BodyRefusal {
  return { status, body: { errors: [{ message, extensions }] } };
}

/**
 * The answer to an error raised while a body was read, or null when the error is not about
 * the body: Fastify's own (too large, bad length, unknown type) and this file's.
 */
export function bodyRefusal(
  thrown: unknown,
  declaredLength: string | undefined,
  limit: number,
): BodyRefusal | null {
  if (!(thrown instanceof Error)) return null;
  // Nest hands Fastify's errors on wrapped in an HttpException, the original as its cause.
  const error = thrown.cause instanceof Error ? thrown.cause : thrown;
  const code = (error as { code?: unknown }).code;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    const length = Number(declaredLength);
    const size = Number.isFinite(length) && length > limit ? `${length}` : `more than ${limit}`;
    return refusal(413, `request body: ${size} bytes exceeds the limit of ${limit} bytes`, {
      code: 'PAYLOAD_TOO_LARGE',
      field: 'body',
      limit,
    });
  }
  // The client closed the connection before its body was read whole: there is no one to
  // answer, and nothing went wrong on this side (not logged as an error).
  if (code === 'ECONNRESET' && error.message === 'aborted') {
    return refusal(400, 'request body: the client closed the connection before sending it whole', {
      code: 'BAD_USER_INPUT',
      field: 'body',
    });
  }
  const fromFastify = typeof code === 'string' && code.startsWith('FST_ERR_CTP_');
  if (!(error instanceof BodyError) && !fromFastify) return null;
  const status = (error as { statusCode?: number }).statusCode ?? 400;
  if (error instanceof BodyError && error.field !== 'body') {
    return refusal(status, error.message, {
      code: 'BAD_USER_INPUT',
      field: error.field,
      limit: error.limit,
    });
  }
  return refusal(status, `request body: ${error.message}`, {
    code: 'BAD_USER_INPUT',
    field: 'body',
  });
}

/**
 * Parses a JSON body strictly: empty is `{}`, and only an object or an array is taken. A
 * GraphQL document (`query`) longer than `maxDocumentBytes` is refused here, before anything
 * hashes or parses it.
 */
export function parseJsonBody(bytes: Buffer, maxDocumentBytes = Infinity): unknown {
  // Refused rather than read with U+FFFD in place of the bytes that are not UTF-8.
  if (!isUtf8(bytes)) throw new BodyError(400, 'not valid UTF-8 (JSON bodies must be UTF-8)');
  const text = bytes.toString('utf8');
  if (text.length === 0) return {};
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[')
    throw new BodyError(400, `Unexpected token '${first ?? ''}': a JSON object is expected`);
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch (error) {
    throw new BodyError(400, (error as Error).message);
  }
  const query = (body as { query?: unknown }).query;
  const over = documentOverLimit(query, maxDocumentBytes);
  if (over !== null)
    throw new BodyError(
      400,
      documentTooLargeMessage(over, maxDocumentBytes),
      'query',
      maxDocumentBytes,
    );
  return body;
}
