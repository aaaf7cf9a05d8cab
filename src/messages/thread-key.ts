import { hash } from 'node:crypto';
import { messageIdTime } from './message-id';
import type { StoredMessage } from './stored-message';

/** The Redis name of a thread: a digest, so that no thread id text becomes part of a key. */
export function threadKey(threadId: string): string {
  return hash('sha256', threadId);
}

/**
 * The entries a message adds to its thread's index, as [score, id] pairs. A message that
 * starts its own thread and answers nothing adds none: most messages are never answered, and a
 * thread of one is read from the message itself. A reply to a thread's first message adds
 * that message too, so the index holds the whole thread once it has two messages.
 */
export function threadEntries(
  message: Pick<StoredMessage, 'id' | 'createdAt' | 'threadId' | 'inReplyTo'>,
): Array<[number, string]> {
  if (message.threadId === message.id) return [];
  const entries: Array<[number, string]> = [[message.createdAt, message.id]];
  if (message.inReplyTo !== null && message.inReplyTo === message.threadId) {
    entries.push([messageIdTime(message.inReplyTo), message.inReplyTo]);
  }
  return entries;
}
