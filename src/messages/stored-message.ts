import { MessagePriority, type AddressingMode, type Message } from './message.model';

/** A message as the service keeps it: times in epoch milliseconds, metadata as parsed JSON. */
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
  threadId: string | null;
}

const OPTIONAL_TEXT = ['target', 'subject', 'correlationId', 'replyTo', 'threadId'] as const;

/** Flattens a message into the field/value list of `message:{id}`; absent fields are left out. */
export function toHashFields(message: StoredMessage): string[] {
  const fields = [
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
  ];
  for (const key of OPTIONAL_TEXT) {
    const value = message[key];
    if (value !== null) fields.push(key, value);
  }
  if (message.metadata !== null && message.metadata !== undefined) {
    fields.push('metadata', JSON.stringify(message.metadata));
  }
  if (message.expiresAt !== null) fields.push('expiresAt', String(message.expiresAt));
  return fields;
}

/** Rebuilds a message from `HGETALL message:{id}`; null for a missing or unreadable hash. */
export function fromHash(hash: Record<string, string>): StoredMessage | null {
  if (!hash.id || !hash.sender || hash.content === undefined) return null;
  let metadata: unknown = null;
  if (hash.metadata !== undefined) {
    try {
      metadata = JSON.parse(hash.metadata) as unknown;
    } catch {
      return null;
    }
  }
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
    threadId: hash.threadId ?? null,
  };
}

export function isExpired(message: Pick<StoredMessage, 'expiresAt'>, now = Date.now()): boolean {
  return message.expiresAt !== null && message.expiresAt <= now;
}

/**
 * The GraphQL shape: dates rebuilt as Date, since the DateTime scalar serializes only Date.
 * Field by field, not by spread, as in enrich(): a spread made a slower object.
 */
export function toMessageModel(message: StoredMessage & { deliveryAttempt?: number }): Message {
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
    deliveryAttempt: message.deliveryAttempt,
  };
}

const liveModels = new WeakMap<StoredMessage, Message>();

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
