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
