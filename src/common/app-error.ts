/**
 * The codes a client sees in `extensions.code`. Each module names its own errors in its
 * `*.errors.ts` with one of these codes; the GraphQL error filter maps them at the edge.
 */
export type ErrorCode =
  | 'BAD_USER_INPUT'
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'PAYLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  /** Redis refuses every write (out of memory): retry after `retryAfterSeconds`. */
  | 'STORE_FULL'
  /** A subscription sent over HTTP: subscriptions run over the graphql-ws WebSocket only. */
  | 'WEBSOCKET_REQUIRED'
  /** A request (replyWithinSeconds) to a DIRECT target that is unknown or deactivated. */
  | 'NO_RESPONDER'
  /** A reply chain too deep (ROUTER_MAX_HOPS) or returning too often (ROUTER_MAX_VISITS). */
  | 'LOOP_DETECTED'
  /** The same body from the same sender to the same mailbox within DUPLICATE_WINDOW. */
  | 'DUPLICATE'
  /** A mailbox's daily token budget, or a thread's, would be passed. */
  | 'BUDGET_EXHAUSTED'
  /** The sending mailbox, or the thread, is paused by the operator. */
  | 'PAUSED'
  /** Something the service did not expect (a bug): logged with its stack, told as no more. */
  | 'INTERNAL_SERVER_ERROR';

/** Structured detail carried to `extensions` beside the code. */
export interface ErrorDetails {
  /** The input field at fault, as a path (`input.target`, `inputs[3].content`). */
  field?: string;
  /** The limit that was broken, where there is one. */
  limit?: number | string;
  [key: string]: unknown;
}

/** The one base error of the service: a code for the client, a message that says what to fix. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
    this.name = new.target.name;
  }

  /** The same error with its field path nested under `prefix` (`input`, `inputs[3]`). */
  under(prefix: string): AppError {
    if (!this.details.field) return this;
    const field = `${prefix}.${this.details.field}`;
    return new AppError(this.code, this.message.replace(this.details.field, field), {
      ...this.details,
      field,
    });
  }
}
