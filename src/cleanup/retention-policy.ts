import { AddressingMode } from '../messages/message.model';

/** Why an entry leaves a mailbox. */
export type Removal =
  /** Beyond the newest MAILBOX_MAX_MESSAGES. */
  | 'count'
  /** Older than MAILBOX_MAX_AGE. */
  | 'age'
  /** The mailbox was deleted. */
  | 'deleted';

/** What retention needs to know of a message whose entry leaves a mailbox. */
export interface MessageHead {
  mode: AddressingMode;
  target: string | null;
  createdAt: number;
  expiresAt: number | null;
  /** The thread whose index names the message (its own id for a message of no thread). */
  threadId: string;
  /** A request's deadline (epoch ms); null for a message that is no request. */
  replyBy: number | null;
}

/**
 * How long a request's hash outlives its deadline once its mailbox entry is gone: the deadline
 * sweep reads it to tell the requester nobody answered, and may run late (every instance down
 * for a while).
 */
export const REQUEST_GRACE_MS = 24 * 3600 * 1000;

/** What becomes of the message hash when one mailbox's entry of it goes. */
export type MessageFate =
  /** Other indexes may hold it: it stays as it is. */
  | { kind: 'keep' }
  /** Nothing else holds it (a DIRECT message's one mailbox), or every holder drops it now. */
  | { kind: 'delete' }
  /** Kept for the mailboxes that still hold it, but not past the age every holder drops it at. */
  | { kind: 'expireAt'; at: number };

/** The retention limits as the cleanup loop applies them; 0 means no limit. */
export interface RetentionLimits {
  maxMessages: number;
  maxAgeMs: number;
}

/**
 * Why the cleanup loop takes an entry with this score (the message's createdAt) out of a
 * mailbox: its age when it is older than the age limit, else the count limit; or the
 * mailbox's deletion.
 */
export function removalOf(
  score: number,
  lowestScoreKept: number | null,
  deleting: boolean,
): Removal {
  if (deleting) return 'deleted';
  return lowestScoreKept !== null && score < lowestScoreKept ? 'age' : 'count';
}

/**
 * The rule for a message hash when one mailbox's entry of it goes:
 *
 * - DIRECT: the message belongs to its one target mailbox, so the hash goes with that entry;
 *   but a request's stays until REQUEST_GRACE_MS past its deadline, for the sweep that tells
 *   its sender nobody answered (the target's mailbox no longer shows it).
 * - BROADCAST: many mailboxes may hold one hash, and nothing counts them. Every copy has the
 *   same score (the message's createdAt), so an entry that leaves by age leaves every holder
 *   by age: the hash goes with the first. An entry that leaves by count or deletion leaves
 *   one holder while others keep theirs: the hash stays, with a Redis expiry at the age every
 *   holder drops it at when there is an age limit (PEXPIREAT ... LT never lengthens a TTL).
 *   Without an age limit the hash stays until its own TTL, if any.
 * - TOPIC: the topic's history holds it, which mailbox limits do not govern.
 * - A hash already gone (expired, or dropped with an earlier holder's entry): nothing to do.
 */
export function fateOf(
  head: MessageHead | null,
  mailbox: string,
  removal: Removal,
  limits: RetentionLimits,
): MessageFate {
  if (head === null) return { kind: 'keep' };
  switch (head.mode) {
    case AddressingMode.DIRECT:
      if (head.target !== mailbox) return { kind: 'keep' };
      return head.replyBy === null
        ? { kind: 'delete' }
        : { kind: 'expireAt', at: head.replyBy + REQUEST_GRACE_MS };
    case AddressingMode.BROADCAST:
      if (removal === 'age') return { kind: 'delete' };
      return limits.maxAgeMs > 0
        ? { kind: 'expireAt', at: head.createdAt + limits.maxAgeMs }
        : { kind: 'keep' };
    case AddressingMode.TOPIC:
      return { kind: 'keep' };
  }
}

/** The reason a pending delivery gets when its entry leaves the recipient's mailbox. */
export function deliveryReason(removal: Removal, limits: RetentionLimits): string {
  switch (removal) {
    case 'count':
      return `the recipient's mailbox keeps its newest ${limits.maxMessages} messages (MAILBOX_MAX_MESSAGES) and dropped this one before it was confirmed`;
    case 'age':
      return `the recipient's mailbox keeps messages for ${limits.maxAgeMs / 1000} seconds (MAILBOX_MAX_AGE) and dropped this one before it was confirmed`;
    case 'deleted':
      return 'the recipient mailbox was deleted before it confirmed the message';
  }
}
