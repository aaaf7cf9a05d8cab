import { AddressingMode, MessagePriority } from '../../src/messages/message.model';
import type { StoredMessage } from '../../src/messages/stored-message';

/** Builders of SendMessageInput variables, and of stored messages, for tests. */
export interface SendInput {
  sender: string;
  mode: 'DIRECT' | 'BROADCAST' | 'TOPIC';
  target?: string | null;
  content: string;
  [field: string]: unknown;
}

let counter = 0;

export function directInput(
  sender: string,
  target: string,
  overrides: Partial<SendInput> = {},
): SendInput {
  counter += 1;
  return { sender, mode: 'DIRECT', target, content: `hello ${counter}`, ...overrides };
}

export function broadcastInput(sender: string, overrides: Partial<SendInput> = {}): SendInput {
  counter += 1;
  return { sender, mode: 'BROADCAST', content: `to all ${counter}`, ...overrides };
}

export function topicInput(
  sender: string,
  topic: string,
  overrides: Partial<SendInput> = {},
): SendInput {
  counter += 1;
  return { sender, mode: 'TOPIC', target: topic, content: `on ${topic} ${counter}`, ...overrides };
}

/**
 * A BROADCAST as the store takes it, sent at `createdAt`, that needs each recipient's
 * confirmation: MessageStore.deliver makes its delivery PENDING for each recipient given.
 */
export function trackedBroadcast(
  id: string,
  createdAt: number,
  overrides: Partial<StoredMessage> = {},
): StoredMessage {
  return {
    id,
    sender: 'sender',
    mode: AddressingMode.BROADCAST,
    target: null,
    content: 'x',
    contentType: 'text/plain',
    subject: null,
    metadata: null,
    priority: MessagePriority.NORMAL,
    createdAt,
    expiresAt: null,
    requireConfirmation: true,
    correlationId: null,
    replyTo: null,
    threadId: id,
    inReplyTo: null,
    replyBy: null,
    hop: 0,
    ...overrides,
  };
}
