import { isUtf8 } from 'node:buffer';

/** A JSON request body that could not be taken: too large, or not JSON. */
export interface BodyFailure {
  tooLarge: boolean;
  /** The declared length in bytes, when known. */
  length?: number;
  /** Why the body is not usable, for anything but a size refusal. */
  reason?: string;
  status?: number;
}

/** The answer to a refused body, as a GraphQL error naming the field and the limit. */
export function bodyRefusal(
  failure: BodyFailure,
  limit: number,
): { status: number; body: { errors: object[] } } {
  const { tooLarge } = failure;
  return {
    status: tooLarge ? 413 : (failure.status ?? 400),
    body: {
      errors: [
        {
          message: tooLarge
            ? `request body: ${failure.length ?? 'more than ' + limit} bytes exceeds the limit of ${limit} bytes`
            : `request body: ${failure.reason ?? 'unreadable'}`,
          extensions: tooLarge
            ? { code: 'PAYLOAD_TOO_LARGE', field: 'body', limit }
            : { code: 'BAD_USER_INPUT', field: 'body' },
        },
      ],
    },
  };
}

/**
 * Parses a JSON body as the Express JSON parser does in its strict mode: empty is `{}`, and
 * only an object or an array is taken.
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) return {};
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[')
    throw new SyntaxError(`Unexpected token '${first ?? ''}': a JSON object is expected`);
  return JSON.parse(text) as unknown;
}

/** The declared length when it is over the limit; null when it is within it or not declared. */
export function declaredTooLarge(header: string | undefined, limit: number): number | null {
  if (header === undefined) return null;
  const length = Number(header);
  return Number.isFinite(length) && length > limit ? length : null;
}

/** A body that is not valid UTF-8 is refused, rather than read with U+FFFD in its place. */
export class InvalidUtf8Error extends Error {
  readonly status = 400;
  readonly type = 'encoding.invalid';

  constructor() {
    super('not valid UTF-8 (JSON bodies must be UTF-8)');
  }
}

export function requireUtf8(body: Buffer): void {
  if (!isUtf8(body)) throw new InvalidUtf8Error();
}
