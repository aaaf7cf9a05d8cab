import { AppError } from '../common/app-error';
import { exceedsJsonDepth } from '../common/json-depth';
import { moreCharactersThan } from '../common/text-length';
import { assertMailboxName, assertTopic } from '../routing/address';
import { MAX_REPORTED_TOKENS, reportedUsage } from '../safety/token-estimate';
import { assertMessageId, messageIdTime } from './message-id';
import { InvalidFieldError, JsonTooDeepError, PayloadTooLargeError } from './message.errors';
import { isReservedName } from './reserved-names';
import { AddressingMode, MessagePriority } from './message.model';
import type { SendMessageInput } from './send-message.input';
import type { StoredMessage } from './stored-message';

export interface MessageLimits {
  maxMessageBytes: number;
  maxPayloadBytes: number;
  /** Nesting of `metadata` (ROUTER_MAX_JSON_DEPTH). */
  maxJsonDepth: number;
}

export const MAX_TTL_SECONDS = 366 * 24 * 3600;
const MAX_SHORT_TEXT = 256;
/** Characters of a subject. */
export const MAX_SUBJECT = 1024;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
const CONTENT_TYPE =
  /^[A-Za-z0-9!#$&^_.+-]{1,127}\/[A-Za-z0-9!#$&^_.+-]{1,127}([ \t]*;[\x20-\x7e]*)?$/;

export const MAX_REPLY_WITHIN_SECONDS = 86_400;
/**
 * How long a request with a ttlSeconds must live past its deadline: the sweep that tells its
 * sender of a timeout runs every ROUTER_RETRY_CHECK_INTERVAL (10 s by default) and reads the
 * request, which must not have expired by then.
 */
export const REQUEST_OUTLIVES_DEADLINE_SECONDS = 60;

/** A validated send, ready to get its id. */
export interface CheckedSend {
  message: Omit<
    StoredMessage,
    'id' | 'createdAt' | 'expiresAt' | 'threadId' | 'replyBy' | 'hop'
  > & {
    /** As given; enrich() fills in the inherited thread or the message's own id. */
    threadId: string | null;
  };
  ttlSeconds: number | null;
  replyWithinSeconds: number | null;
  idempotencyKey: string | null;
}

/** What a reply takes from the message it answers. */
export interface ReplyContext {
  threadId: string;
  hop: number;
}

function optionalText(value: string | null | undefined, field: string, max: number): string | null {
  if (value === null || value === undefined) return null;
  if (value.length === 0 || moreCharactersThan(value, max)) {
    throw new InvalidFieldError(field, `must be 1 to ${max} characters`, max);
  }
  if (CONTROL_CHARACTER.test(value)) {
    throw new InvalidFieldError(field, 'must not contain control characters', max);
  }
  return value;
}

/** UTF-8 bytes of a string, without encoding it. */
export function utf8Bytes(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

/**
 * The size a message counts against ROUTER_MAX_MESSAGE_SIZE: the UTF-8 bytes of every text
 * field and of the metadata as JSON.
 */
export function messageBytes(message: CheckedSend['message']): number {
  let total = 0;
  for (const value of [
    message.sender,
    message.target,
    message.content,
    message.contentType,
    message.subject,
    message.correlationId,
    message.replyTo,
    message.threadId,
    message.inReplyTo,
  ]) {
    if (value) total += utf8Bytes(value);
  }
  if (message.metadata !== null && message.metadata !== undefined) {
    total += utf8Bytes(JSON.stringify(message.metadata));
  }
  return total;
}

function checkTarget(input: SendMessageInput): string | null {
  const target = input.target ?? null;
  switch (input.mode) {
    case AddressingMode.DIRECT:
      // A reply without a target goes to the answered message's sender, filled in by the router.
      if (target === null && input.inReplyTo) return null;
      if (target === null) {
        throw new InvalidFieldError('target', 'is required for DIRECT: name the recipient mailbox');
      }
      return assertMailboxName(target, 'target');
    case AddressingMode.TOPIC:
      if (target === null) {
        throw new InvalidFieldError('target', 'is required for TOPIC: name the topic');
      }
      return assertTopic(target, 'target');
    case AddressingMode.BROADCAST:
      if (target !== null) {
        throw new InvalidFieldError('target', 'must be absent for BROADCAST');
      }
      return null;
  }
}

function checkMetadata(metadata: unknown, maxDepth: number): unknown {
  if (metadata === null || metadata === undefined) return null;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new InvalidFieldError('metadata', 'must be a JSON object');
  }
  // Before anything serializes it: JSON.stringify recurses, and a deep enough value stored
  // would fail every later read of it.
  if (exceedsJsonDepth(metadata, maxDepth)) throw new JsonTooDeepError('metadata', maxDepth);
  // The service's mark of a reply sent after its request's deadline: a sender cannot set it.
  if (Object.hasOwn(metadata, 'late')) {
    throw new InvalidFieldError(
      'metadata.late',
      "is the service's own: it marks a reply sent after its request's deadline",
    );
  }
  const reported = reportedUsage(metadata);
  if (reported !== null && reported.tokens > MAX_REPORTED_TOKENS) {
    throw new InvalidFieldError(
      `metadata.usage.${reported.key}`,
      `${reported.tokens} tokens; the most a message may report is ${MAX_REPORTED_TOKENS}`,
      MAX_REPORTED_TOKENS,
    );
  }
  return metadata;
}

/**
 * Checks a send against the public contract's rules; throws an AppError naming the field (relative to
 * the input object) and the limit. Nothing here touches Redis.
 */
export function validateSendInput(input: SendMessageInput, limits: MessageLimits): CheckedSend {
  if (input.sender === null || input.sender === undefined) {
    throw new InvalidFieldError('sender', 'is required: name the sending mailbox');
  }
  const sender = assertMailboxName(input.sender, 'sender');
  if (isReservedName(sender)) {
    throw new AppError(
      'FORBIDDEN',
      `sender: "${sender}" is the service's own name: no send may use it`,
      {
        field: 'sender',
      },
    );
  }
  if (!Object.values(AddressingMode).includes(input.mode)) {
    throw new InvalidFieldError('mode', 'must be DIRECT, BROADCAST or TOPIC');
  }
  if (typeof input.content !== 'string') {
    throw new InvalidFieldError('content', 'must be a string');
  }
  const contentBytes = utf8Bytes(input.content);
  if (contentBytes > limits.maxPayloadBytes) {
    throw new PayloadTooLargeError('content', contentBytes, limits.maxPayloadBytes);
  }
  const target = checkTarget(input);
  const contentType = input.contentType ?? 'text/plain';
  if (!CONTENT_TYPE.test(contentType) || contentType.length > 255) {
    throw new InvalidFieldError('contentType', 'must be a media type such as text/plain', 255);
  }
  const ttlSeconds = input.ttlSeconds ?? null;
  if (
    ttlSeconds !== null &&
    (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_SECONDS)
  ) {
    throw new InvalidFieldError(
      'ttlSeconds',
      `must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}`,
      MAX_TTL_SECONDS,
    );
  }
  const replyWithinSeconds = input.replyWithinSeconds ?? null;
  if (
    replyWithinSeconds !== null &&
    (!Number.isInteger(replyWithinSeconds) ||
      replyWithinSeconds < 1 ||
      replyWithinSeconds > MAX_REPLY_WITHIN_SECONDS)
  ) {
    throw new InvalidFieldError(
      'replyWithinSeconds',
      `must be a whole number of seconds from 1 to ${MAX_REPLY_WITHIN_SECONDS}`,
      MAX_REPLY_WITHIN_SECONDS,
    );
  }
  // A request must outlive its deadline long enough for the sweep to read it and tell its
  // sender of the timeout: expired first, it could be neither answered nor timed out.
  if (
    replyWithinSeconds !== null &&
    ttlSeconds !== null &&
    replyWithinSeconds + REQUEST_OUTLIVES_DEADLINE_SECONDS > ttlSeconds
  ) {
    const most = Math.max(0, ttlSeconds - REQUEST_OUTLIVES_DEADLINE_SECONDS);
    throw new InvalidFieldError(
      'replyWithinSeconds',
      `${replyWithinSeconds} s is too close to the message's ttlSeconds (${ttlSeconds}): a request must outlive its deadline by ${REQUEST_OUTLIVES_DEADLINE_SECONDS} s, for its timeout notice; at most ${most} here`,
      most,
    );
  }
  const inReplyTo =
    input.inReplyTo === null || input.inReplyTo === undefined
      ? null
      : assertMessageId(input.inReplyTo, 'inReplyTo');
  const priority = input.priority ?? MessagePriority.NORMAL;
  if (!Object.values(MessagePriority).includes(priority)) {
    throw new InvalidFieldError('priority', 'must be LOW, NORMAL, HIGH or URGENT');
  }
  const replyTo =
    input.replyTo === null || input.replyTo === undefined
      ? null
      : assertMailboxName(input.replyTo, 'replyTo');
  const message: CheckedSend['message'] = {
    sender,
    mode: input.mode,
    target,
    content: input.content,
    contentType,
    subject: optionalText(input.subject, 'subject', MAX_SUBJECT),
    metadata: checkMetadata(input.metadata, limits.maxJsonDepth),
    priority,
    requireConfirmation: input.requireConfirmation ?? false,
    correlationId: optionalText(input.correlationId, 'correlationId', MAX_SHORT_TEXT),
    replyTo,
    threadId: optionalText(input.threadId, 'threadId', MAX_SHORT_TEXT),
    inReplyTo,
  };
  const idempotencyKey = optionalText(input.idempotencyKey, 'idempotencyKey', MAX_SHORT_TEXT);
  const size = messageBytes(message);
  if (size > limits.maxMessageBytes) {
    throw new PayloadTooLargeError('message', size, limits.maxMessageBytes);
  }
  return { message, ttlSeconds, replyWithinSeconds, idempotencyKey };
}

/**
 * Gives a checked send its id and times: createdAt is the id's own timestamp. Every field is
 * named, in StoredMessage's order: a spread makes an object with a slower shape, which every
 * later step of the send pays for.
 */
export function enrich(
  checked: CheckedSend,
  id: string,
  reply: ReplyContext | null = null,
): StoredMessage {
  const createdAt = messageIdTime(id);
  const { message } = checked;
  return {
    id,
    sender: message.sender,
    mode: message.mode,
    target: message.target,
    content: message.content,
    contentType: message.contentType,
    subject: message.subject,
    metadata: message.metadata,
    priority: message.priority,
    createdAt,
    expiresAt: checked.ttlSeconds === null ? null : createdAt + checked.ttlSeconds * 1000,
    requireConfirmation: message.requireConfirmation,
    correlationId: message.correlationId,
    replyTo: message.replyTo,
    threadId: reply?.threadId ?? message.threadId ?? id,
    inReplyTo: message.inReplyTo,
    replyBy:
      checked.replyWithinSeconds === null ? null : createdAt + checked.replyWithinSeconds * 1000,
    hop: reply === null ? 0 : reply.hop,
  };
}

/** Wraps a validation failure so its field reads from the operation's argument (`input.x`). */
export function scopeError(error: unknown, prefix: string): unknown {
  return error instanceof AppError ? error.under(prefix) : error;
}
