import { Inject, Injectable } from '@nestjs/common';
import { AddressingMode } from '../messages/message.model';
import type { StoredMessage } from '../messages/stored-message';
import { threadKey } from '../messages/thread-key';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';
import { TopicRepository } from '../topics/topic.repository';
import { forgetGoneFirstEntry } from './thread-index';

/** How long a broadcast's recipient list outlives the message, for cleanup to read it. */
export const RECIPIENTS_GRACE_MS = 7 * 24 * 3600 * 1000;

/**
 * A message's entry in the expiry schedule: what cleanup needs to find its indexes, which it
 * cannot read from the message once Redis has let the hash lapse. A message in a thread of
 * another carries that thread's key (no `|` in it, nor in a mailbox's or topic's name).
 */
export function expiryMember(
  message: Pick<StoredMessage, 'id' | 'mode' | 'target' | 'threadId'>,
): string {
  const base = `${message.id}|${message.mode}|${message.target ?? ''}`;
  return message.threadId === message.id ? base : `${base}|${threadKey(message.threadId)}`;
}

export interface ExpiredEntry {
  member: string;
  messageId: string;
  mode: AddressingMode;
  target: string;
  /** The key of the thread of another message that the message is in; null for none. */
  threadKey: string | null;
}

/**
 * Reads the expiry schedule and a broadcast's recipient list (the store step writes them with
 * the message), and removes every trace of an expired message from the indexes that hold it.
 */
@Injectable()
export class CleanupRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly topics: TopicRepository,
  ) {}

  async due(now: number, limit: number): Promise<ExpiredEntry[]> {
    const members = await this.redis.zrange(
      this.keys.expirySchedule(),
      '-inf',
      String(now),
      'BYSCORE',
      'LIMIT',
      0,
      limit,
    );
    return members.map((member) => {
      const [messageId, mode, target, thread] = member.split('|');
      return {
        member,
        messageId,
        mode: mode as AddressingMode,
        target,
        threadKey: thread ?? null,
      };
    });
  }

  async recipients(entry: ExpiredEntry): Promise<string[]> {
    switch (entry.mode) {
      case AddressingMode.DIRECT:
        return [entry.target];
      case AddressingMode.BROADCAST:
        return this.redis.smembers(this.keys.messageRecipients(entry.messageId));
      case AddressingMode.TOPIC:
        return [];
    }
  }

  /** Removes the message from every index and list that names it, then the message itself. */
  async purge(entry: ExpiredEntry, mailboxes: string[]): Promise<void> {
    const id = entry.messageId;
    // Read marks stay a subset of the index: unread is the index minus the marks, and
    // read-prefix.lua counts on it. A mailbox's entry and its read mark go in one script
    // (trim-mailbox.lua), so that no markRead can come in between.
    const removals: Array<Promise<unknown>> = mailboxes.flatMap((mailbox) => [
      this.redis.trimMailbox(
        this.keys.mailboxMessages(mailbox),
        this.keys.mailboxPending(mailbox),
        this.keys.mailboxDeadLetters(mailbox),
        this.keys.mailboxDeadLetterIndex(mailbox),
        this.keys.mailboxRead(mailbox),
        id,
      ),
      this.redis.zrem(this.keys.deadLetterIndex(), `${mailbox}|${id}`),
    ]);
    if (entry.mode === AddressingMode.TOPIC) {
      removals.push(
        this.redis.zrem(this.keys.topicMessages(entry.target), id),
        this.redis.zrem(this.keys.topicArrivals(entry.target), id),
      );
    }
    // Thread indexes that name it: its own thread's, where it was answered, and the thread
    // of another that it is in.
    removals.push(this.redis.zrem(this.keys.thread(threadKey(id)), id));
    if (entry.threadKey !== null) {
      removals.push(this.redis.zrem(this.keys.thread(entry.threadKey), id));
    }
    removals.push(
      this.redis.del(this.keys.message(id)),
      this.redis.del(this.keys.deliveryConfirmation(id)),
      this.redis.del(this.keys.messageRecipients(id)),
    );
    await Promise.all(removals);
    if (entry.threadKey !== null)
      await forgetGoneFirstEntry(this.redis, this.keys, entry.threadKey);
    // A topic whose last message this was leaves the topic index: catch-ups and listings
    // read only topics with messages. Before the schedule's entry goes, so that a failure
    // here is tried again with the purge.
    if (entry.mode === AddressingMode.TOPIC) await this.topics.forgetIfEmpty(entry.target);
    await this.redis.zrem(this.keys.expirySchedule(), entry.member);
  }

  /** One instance cleans at a time: a lock that lapses by itself if its holder dies. */
  async lock(owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys.cleanupLock(), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  /** Releases the lock if it is still this owner's (release-lock.lua); true when it was. */
  async unlock(owner: string): Promise<boolean> {
    return (await this.redis.releaseLock(this.keys.cleanupLock(), owner)) === 1;
  }
}
