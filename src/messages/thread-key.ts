import { hash } from 'node:crypto';
import { isMessageId, messageIdTime } from './message-id';
import type { StoredMessage } from './stored-message';

/** The Redis name of a thread: a digest, so that no thread id text becomes part of a key. */
export function threadKey(threadId: string): string {
  return hash('sha256', threadId);
}

/**
 * The entries a message adds to its thread's index, as [score, id] pairs. A message that
 * starts its own thread adds none: most messages are never answered, and a thread of one is
 * read from the message itself. A message in a thread named by a message id (a reply, or a
 * send that names the thread) adds that first message too, so that the index holds the whole
 * thread once it has two messages, whoever joined it first and however. An id that names no
 * stored message is passed over when the thread is read.
 */
export function threadEntries(
  message: Pick<StoredMessage, 'id' | 'createdAt' | 'threadId'>,
): Array<[number, string]> {
  if (message.threadId === message.id) return [];
  const entries: Array<[number, string]> = [[message.createdAt, message.id]];
  // A thread id that is a message id names that message's thread, which starts with it.
  if (isMessageId(message.threadId)) {
    entries.push([messageIdTime(message.threadId), message.threadId]);
  }
  return entries;
}
