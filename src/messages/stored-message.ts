import { MemoSlot } from '../common/memo-slot';
import { readStoredJson, UnreadableJson } from '../common/stored-json';
import { MessagePriority, type AddressingMode, type Message } from './message.model';

/**
 * A message as the service keeps it: times in epoch milliseconds, metadata as parsed JSON (an
 * UnreadableJson when what was stored cannot be parsed or returned).
 */
export interface StoredMessage {
  id: string;
  sender: string;
  mode: AddressingMode;
  target: string | null;
  content: string;
  contentType: string;
  subject: string | null;
  metadata: unknown;
  priority: MessagePriority;
  createdAt: number;
  expiresAt: number | null;
  requireConfirmation: boolean;
  correlationId: string | null;
  replyTo: string | null;
  /** Given, inherited from the message answered, or else the message's own id. */
  threadId: string;
  /** The message this one answers. */
  inReplyTo: string | null;
  /** A request's deadline (epoch milliseconds): the sender expects a reply by then. */
  replyBy: number | null;
  /** 0 for a fresh message; the answered message's hop + 1 for a reply. */
  hop: number;
  /**
   * `v1.<kid>.<mac>` (src/provenance/message-signature.ts), stamped by MessageStore.deliver.
   * Absent (undefined) on a message not stored yet, and on one stored before messages were
   * signed.
   */
  signature?: string;
  /**
   * True when `content` holds only the body's first bytes, read for a preview
   * (MessageRepository.findPreviews): the body is longer. Absent on a whole message.
   */
  contentCut?: true;
}

const OPTIONAL_TEXT = ['target', 'subject', 'correlationId', 'replyTo', 'inReplyTo'] as const;

/** Flattens a message into the field/value list of `message:{id}`; absent fields are left out. */
export function toHashFields(message: StoredMessage): string[] {
  return otherHashFields(message, [
    'id',
    message.id,
    'sender',
    message.sender,
    'mode',
    message.mode,
    'content',
    message.content,
    'contentType',
    message.contentType,
    'priority',
    message.priority,
    'createdAt',
    String(message.createdAt),
    'requireConfirmation',
    message.requireConfirmation ? '1' : '0',
  ]);
}

/**
 * Appends to `fields` the hash entries after the eight every message has (toHashFields'
 * first), in toHashFields' order, and returns it: what the one-step scripts take as entries,
 * the eight's values travelling on their own (lib/store-and-enqueue.lua).
 */
export function otherHashFields(message: StoredMessage, fields: string[] = []): string[] {
  for (const key of OPTIONAL_TEXT) {
    const value = message[key];
    if (value !== null) fields.push(key, value);
  }
  if (message.metadata instanceof UnreadableJson) {
    fields.push('metadata', message.metadata.text);
  } else if (message.metadata !== null && message.metadata !== undefined) {
    fields.push('metadata', JSON.stringify(message.metadata));
  }
  if (message.expiresAt !== null) fields.push('expiresAt', String(message.expiresAt));
  // Left out where they say nothing: most messages start their own thread and are no reply.
  if (message.threadId !== message.id) fields.push('threadId', message.threadId);
  if (message.replyBy !== null) fields.push('replyBy', String(message.replyBy));
  if (message.hop !== 0) fields.push('hop', String(message.hop));
  if (message.signature) fields.push('signature', message.signature);
  return fields;
}

/**
 * Rebuilds a message from `HGETALL message:{id}`; null for a missing hash or one without its
 * id, sender or content. Metadata that cannot be parsed or returned does not lose the message:
 * it is read as an UnreadableJson, which fails only that field of a response.
 */
export function fromHash(hash: Record<string, string>): StoredMessage | null {
  if (!hash.id || !hash.sender || hash.content === undefined) return null;
  const metadata = hash.metadata === undefined ? null : readStoredJson(hash.metadata);
  return {
    id: hash.id,
    sender: hash.sender,
    mode: hash.mode as AddressingMode,
    target: hash.target ?? null,
    content: hash.content,
    contentType: hash.contentType ?? 'text/plain',
    subject: hash.subject ?? null,
    metadata,
    priority: (hash.priority as MessagePriority | undefined) ?? MessagePriority.NORMAL,
    createdAt: Number(hash.createdAt),
    expiresAt: hash.expiresAt === undefined ? null : Number(hash.expiresAt),
    requireConfirmation: hash.requireConfirmation === '1',
    correlationId: hash.correlationId ?? null,
    replyTo: hash.replyTo ?? null,
    threadId: hash.threadId ?? hash.id,
    inReplyTo: hash.inReplyTo ?? null,
    replyBy: hash.replyBy === undefined ? null : Number(hash.replyBy),
    hop: hash.hop === undefined ? 0 : Number(hash.hop),
    signature: hash.signature,
  };
}

/**
 * A message as pushed to a mailbox feed: the stored message and, for tracked deliveries, the
 * attempt and (after a redrive) when the redrive began, which tells its attempt 1 from the
 * first one.
 */
export type PushedMessage = StoredMessage & { deliveryAttempt?: number; redrivenAt?: number };

/**
 * The JSON every feed (mailbox and topic) carries: the entries of the message's hash
 * (toHashFields), then, for a tracked delivery, `deliveryAttempt` and, after a redrive,
 * `redrivenAt`. The stored hash's own form, so that one reader serves pushes and stored
 * messages alike.
 */
export function toPushPayload(
  message: StoredMessage,
  deliveryAttempt?: number,
  redrivenAt?: number,
): string {
  const entries = toHashFields(message);
  if (deliveryAttempt !== undefined) entries.push('deliveryAttempt', String(deliveryAttempt));
  if (redrivenAt !== undefined) entries.push('redrivenAt', String(redrivenAt));
  return JSON.stringify(entries);
}

const pushedMessages = new MemoSlot<PushedMessage | null>('pushed message');

/**
 * A message hash from its field/value list (HGETALL's order, a push's, message-preview.lua's);
 * entries that are not two strings are left out.
 */
export function hashOfEntries(entries: readonly unknown[]): Record<string, string> {
  const hash: Record<string, string> = Object.create(null) as Record<string, string>;
  for (let i = 0; i + 1 < entries.length; i += 2) {
    const [field, value] = [entries[i], entries[i + 1]];
    if (typeof field === 'string' && typeof value === 'string') hash[field] = value;
  }
  return hash;
}

/**
 * Reads a parsed push payload; null for anything unreadable. One message per payload: every
 * feed given the same parsed payload gets the same object (see liveMessageModel).
 */
export function fromPushPayload(payload: unknown): PushedMessage | null {
  if (!Array.isArray(payload)) return null;
  const known = pushedMessages.get(payload);
  if (known !== undefined) return known;
  const hash = hashOfEntries(payload);
  const stored = fromHash(hash);
  let pushed: PushedMessage | null = stored;
  if (stored && hash.deliveryAttempt !== undefined) {
    pushed = { ...stored, deliveryAttempt: Number(hash.deliveryAttempt) };
    if (hash.redrivenAt !== undefined) pushed.redrivenAt = Number(hash.redrivenAt);
  }
  pushedMessages.set(payload, pushed);
  return pushed;
}

export function isExpired(message: Pick<StoredMessage, 'expiresAt'>, now: number): boolean {
  return message.expiresAt !== null && message.expiresAt <= now;
}

/**
 * The GraphQL shape: dates rebuilt as Date, since the DateTime scalar serializes only Date.
 * Field by field, not by spread, as in enrich(): a spread made a slower object.
 */
export function toMessageModel(
  message: StoredMessage & { deliveryAttempt?: number },
  read = false,
): Message {
  return {
    id: message.id,
    sender: message.sender,
    mode: message.mode,
    target: message.target,
    content: message.content,
    contentType: message.contentType,
    subject: message.subject,
    metadata: message.metadata,
    priority: message.priority,
    createdAt: new Date(message.createdAt),
    expiresAt: message.expiresAt === null ? null : new Date(message.expiresAt),
    requireConfirmation: message.requireConfirmation,
    correlationId: message.correlationId,
    replyTo: message.replyTo,
    threadId: message.threadId,
    inReplyTo: message.inReplyTo,
    replyBy: message.replyBy === null ? null : new Date(message.replyBy),
    hop: message.hop,
    signature: message.signature ?? '',
    read,
    deliveryAttempt: message.deliveryAttempt,
    contentCut: message.contentCut,
  };
}

const liveModels = new MemoSlot<Message>('live message model');

/**
 * toMessageModel for a published message, one model per publication: every feed that pushes
 * it pushes the same object, so subscribers with the same selection share one execution of
 * it (src/graphql/shared-execution.ts).
 */
export function liveMessageModel(message: StoredMessage & { deliveryAttempt?: number }): Message {
  let model = liveModels.get(message);
  if (!model) {
    model = toMessageModel(message);
    liveModels.set(message, model);
  }
  return model;
}
