import { AppError } from '../common/app-error';

/** A request (replyWithinSeconds) to a DIRECT target nobody can answer from. */
export class NoResponderError extends AppError {
  constructor(target: string) {
    super(
      'NO_RESPONDER',
      `target: mailbox "${target}" is not registered or not active, so nobody can answer this request`,
      { field: 'target' },
    );
  }
}

/** A reply to a message that is not (or no longer) stored. */
export class AnsweredNotFoundError extends AppError {
  constructor(messageId: string) {
    super('NOT_FOUND', `inReplyTo: message ${messageId} was not found or has expired`, {
      field: 'inReplyTo',
    });
  }
}

/** A reply to a message the sender did not receive. */
export class NotARecipientError extends AppError {
  constructor(sender: string, messageId: string) {
    super(
      'FORBIDDEN',
      `inReplyTo: mailbox "${sender}" did not receive message ${messageId}, so it cannot reply to it`,
      { field: 'inReplyTo' },
    );
  }
}

/** A send that names a message's thread without having sent or received that message. */
export class NotInThreadError extends AppError {
  constructor(sender: string, threadId: string) {
    super(
      'FORBIDDEN',
      `threadId: mailbox "${sender}" neither sent nor received message ${threadId}, whose thread this is; reply to a message of it, or name a thread of your own`,
      { field: 'threadId' },
    );
  }
}

/** A reply that names another thread than the message it answers. */
export class ThreadMismatchError extends AppError {
  constructor(given: string, inherited: string) {
    super(
      'BAD_USER_INPUT',
      `threadId: a reply carries the thread of the message it answers ("${inherited}"), not "${given}"`,
      { field: 'threadId' },
    );
  }
}

/** Messages one sendMessages call may carry. */
export const MAX_BATCH = 100;

export class BatchTooLargeError extends AppError {
  constructor(count: number, limit: number) {
    super('BAD_USER_INPUT', `inputs: ${count} messages exceeds the limit of ${limit} per call`, {
      field: 'inputs',
      limit,
    });
  }
}

export class StoreUnavailableError extends AppError {
  constructor(cause: string) {
    super(
      'SERVICE_UNAVAILABLE',
      `the message store did not answer (${cause}); the message may not be stored: send it again with the same idempotencyKey`,
    );
  }
}

/**
 * A send that would wait in the local queue reached an instance that is shutting down: the
 * queue is stored or spooled already, and what came after would be kept in memory only.
 */
export class OutageQueueClosedError extends AppError {
  constructor() {
    super(
      'SERVICE_UNAVAILABLE',
      'this instance is shutting down and Redis cannot take the send now: nothing was stored; send it again (with its idempotencyKey) in a moment',
      { retryAfterSeconds: 1 },
    );
  }
}

/** The local queue holds its limit of bytes (OUTAGE_QUEUE_BYTES), or its spool cannot be written. */
export class OutageQueueBytesError extends AppError {
  constructor(limit: number, reason?: string) {
    super(
      'SERVICE_UNAVAILABLE',
      reason === undefined
        ? `Redis is unavailable and the local queue holds its limit of ${limit} bytes (OUTAGE_QUEUE_BYTES); nothing was stored: retry later`
        : `Redis is unavailable and the local queue's spool could not be written (${reason}); nothing was stored: retry later`,
      { limit },
    );
  }
}

export class OutageQueueFullError extends AppError {
  constructor(capacity: number) {
    super(
      'SERVICE_UNAVAILABLE',
      `Redis is unavailable and the local queue holds its limit of ${capacity} sends (OUTAGE_QUEUE_SIZE); retry later`,
      { limit: capacity },
    );
  }
}
