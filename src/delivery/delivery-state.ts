import { DeliveryStatus, type DeliveryConfirmation } from './delivery-confirmation.model';

/** A recipient's delivery as the scripts keep it (JSON in `delivery_confirmation:{id}`). */
export interface RecipientState {
  status: DeliveryStatus;
  /** Attempts made so far. */
  n: number;
  /** PENDING with no attempt under way: the next subscriber gets it at once. */
  waiting: boolean;
  next?: number;
  log?:
    Array<{ n: number; at: number; latencyMs?: number; error?: string }> | Record<string, never>;
  deliveredAt?: number;
  reason?: string;
  redrivenAt?: number;
  /** Revision: raised by one on every change (see isLaterState); absent before the first. */
  v?: number;
}

export interface ConfirmationRecord {
  messageId: string;
  sender: string;
  priority: string;
  expiresAt: number | null;
  recipients: Map<string, RecipientState>;
}

export function parseState(json: string): RecipientState {
  return JSON.parse(json) as RecipientState;
}

/** Where a state stands among the states of one attempt count: see isLaterState. */
function stage(state: RecipientState): number {
  if (state.status !== DeliveryStatus.PENDING) return 2;
  return state.waiting ? 1 : 0;
}

/**
 * Whether `candidate` is a later state of one recipient's delivery than `known`: the rule by
 * which a watcher that has read the state drops the changes it was told of that the read
 * already showed (and a change it hears twice, or late).
 *
 * Every change the scripts make raises the revision `v` by one, so the later state has the
 * higher revision; the attempt count alone would not do, since a redrive starts it again.
 * At one revision, which only an instance of a version from before revisions produces (it
 * keeps `v` as it found it), the states of one run of attempts still follow each other in one
 * order: more attempts is later, and at one attempt count an attempt under way comes before
 * waiting for a subscriber, which comes before a final status. An equal state is not later:
 * it is the change that was read, told again.
 */
export function isLaterState(candidate: RecipientState, known: RecipientState): boolean {
  const revision = (candidate.v ?? 0) - (known.v ?? 0);
  if (revision !== 0) return revision > 0;
  if (candidate.n !== known.n) return candidate.n > known.n;
  return stage(candidate) > stage(known);
}

/** Reads `HGETALL delivery_confirmation:{id}`; null when there is none. */
export function parseConfirmation(hash: Record<string, string>): ConfirmationRecord | null {
  if (!hash.messageId) return null;
  const recipients = new Map<string, RecipientState>();
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith('r:')) recipients.set(field.slice(2), parseState(value));
  }
  return {
    messageId: hash.messageId,
    sender: hash.sender,
    priority: hash.priority,
    expiresAt: hash.expiresAt ? Number(hash.expiresAt) : null,
    recipients,
  };
}

export function toConfirmationModel(
  messageId: string,
  mailbox: string,
  state: RecipientState,
): DeliveryConfirmation {
  // cjson writes an empty list as {}: an attempt log is a list only when it has entries.
  const log = Array.isArray(state.log) ? state.log : [];
  return {
    messageId,
    mailbox,
    status: state.status,
    attempts: log.map((attempt) => ({
      number: attempt.n,
      at: new Date(attempt.at),
      latencyMs: attempt.latencyMs ?? null,
      error: attempt.error ?? null,
    })),
    nextRetryAt:
      state.status === DeliveryStatus.PENDING && state.next ? new Date(state.next) : null,
    deliveredAt: state.deliveredAt ? new Date(state.deliveredAt) : null,
    waitingForSubscriber: state.status === DeliveryStatus.PENDING && state.waiting,
    reason: state.reason ?? null,
  };
}

/**
 * The dead-letter records an answer may hold, newest first, when only the messages of
 * `taken` were read (the body budget stopped the rest): every record up to the first whose
 * message was not read, so that no older record follows a dropped newer one. `taken` holds
 * ids looked at, read or gone: a gone message's record ends nothing, and is dropped later.
 */
export function newestReadRecords<T extends { messageId: string }>(
  records: readonly T[],
  taken: ReadonlySet<string>,
): T[] {
  const cut = records.findIndex((record) => !taken.has(record.messageId));
  return records.slice(0, cut === -1 ? records.length : cut);
}
