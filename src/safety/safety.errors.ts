import { AppError } from '../common/app-error';

export class HopLimitError extends AppError {
  constructor(hop: number, maxHops: number) {
    super(
      'LOOP_DETECTED',
      `inReplyTo: this reply would be hop ${hop} of its chain, past ROUTER_MAX_HOPS (${maxHops}); start a new thread or ask the operator`,
      { field: 'inReplyTo', limit: maxHops, reason: 'MAX_HOPS' },
    );
  }
}

export class VisitLimitError extends AppError {
  constructor(recipient: string, visits: number) {
    super(
      'LOOP_DETECTED',
      `inReplyTo: replies in this thread have reached "${recipient}" ${visits} times (ROUTER_MAX_VISITS); the thread looks like a loop until the operator posts in it`,
      { field: 'inReplyTo', limit: visits, reason: 'MAX_VISITS' },
    );
  }
}

export class PairRateLimitedError extends AppError {
  constructor(recipient: string, limitPerMinute: number, retryAfterMs: number) {
    const seconds = Math.ceil(retryAfterMs / 1000);
    super(
      'RATE_LIMITED',
      `target: more than ${limitPerMinute} messages a minute to "${recipient}" (PAIR_RATE_LIMIT_PER_MINUTE); retry after ${seconds} s`,
      {
        field: 'target',
        limit: limitPerMinute,
        retryAfterSeconds: seconds,
        reason: 'PAIR_RATE_LIMIT',
      },
    );
  }
}

export class DuplicateError extends AppError {
  constructor(recipient: string, firstId: string, windowSeconds: number) {
    super(
      'DUPLICATE',
      `content: the same body went to "${recipient}" as ${firstId} less than ${windowSeconds} s ago; send it with an idempotencyKey if it is a resend`,
      { field: 'content', limit: windowSeconds, duplicateOf: firstId },
    );
  }
}

export class BudgetExhaustedError extends AppError {
  constructor(scope: 'mailbox' | 'thread', budget: number, tokens: number) {
    super(
      'BUDGET_EXHAUSTED',
      scope === 'mailbox'
        ? `content: this message (${tokens} tokens) would pass the sender's daily budget of ${budget} tokens`
        : `threadId: this message (${tokens} tokens) would pass the thread's budget of ${budget} tokens`,
      {
        field: scope === 'mailbox' ? 'content' : 'threadId',
        limit: budget,
        reason: scope === 'mailbox' ? 'MAILBOX_BUDGET' : 'THREAD_BUDGET',
      },
    );
  }
}

export class PausedError extends AppError {
  constructor(scope: 'mailbox' | 'thread', name: string) {
    super(
      'PAUSED',
      scope === 'mailbox'
        ? `sender: mailbox "${name}" is paused by the operator: it cannot send until resumed`
        : `threadId: thread "${name}" is paused by the operator`,
      {
        field: scope === 'mailbox' ? 'sender' : 'threadId',
        reason: scope === 'mailbox' ? 'MAILBOX_PAUSED' : 'THREAD_PAUSED',
      },
    );
  }
}

export class ContactPolicyError extends AppError {
  constructor(recipient: string) {
    super(
      'FORBIDDEN',
      `target: mailbox "${recipient}" does not accept messages from this sender (its contact policy; list_agents shows it)`,
      { field: 'target', reason: 'CONTACT_POLICY' },
    );
  }
}
