import { Inject, Injectable } from '@nestjs/common';
import { AddressingMode } from '../messages/message.model';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { threadKey } from '../messages/thread-key';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';
import { expiryMember } from './cleanup.repository';
import { forgetGoneFirstEntry } from './thread-index';
import type { MessageHead } from './retention-policy';

/** A batch of entries that leave one mailbox, and what of the mailbox's refers to them. */
export interface Candidates {
  /** The mailbox's lastSeenAt, else its createdAt; null when deleting or with no mailbox. */
  seenAt: number | null;
  /** Oldest first; the score is the message's createdAt (or, past the index, the entry's own). */
  entries: Array<{ id: string; score: number }>;
  /** Those among the entries that await this mailbox's confirmation. */
  pending: string[];
  /** Those among the entries that are among this mailbox's dead letters. */
  deadLettered: string[];
}

function toCandidates([seen, flat, pending, deadLettered]: [
  string,
  string[],
  string[],
  string[],
]): Candidates {
  const entries: Candidates['entries'] = [];
  for (let i = 0; i < flat.length; i += 2)
    entries.push({ id: flat[i], score: Number(flat[i + 1]) });
  return { seenAt: seen === '' ? null : Number(seen), entries, pending, deadLettered };
}

/**
 * What the retention limits and mailbox deletion remove, and in which steps: per mailbox,
 * retention-candidates.lua picks a bounded batch (writing nothing), the caller settles what
 * lives under other hash tags (deliveries, the dead-letter index of all, message hashes), and
 * trim-mailbox.lua then takes the batch out of the mailbox's own keys. Every step is
 * idempotent, so a run cut short anywhere is simply repeated by the next.
 */
@Injectable()
export class RetentionRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * The oldest entries beyond the newest `keep` (0: no count limit) or scored below
   * `lowestScoreKept` (null: no age limit), at most `limit`.
   */
  async toTrim(
    mailbox: string,
    keep: number,
    lowestScoreKept: number | null,
    limit: number,
  ): Promise<Candidates> {
    return toCandidates(
      await this.redis.retentionCandidates(
        ...this.mailboxKeys(mailbox),
        'trim',
        keep,
        lowestScoreKept === null ? '' : lowestScoreKept,
        limit,
      ),
    );
  }

  /** The next entries of a mailbox deleted at `deletedAt`, at most `limit`; none when done. */
  async toDelete(mailbox: string, deletedAt: number, limit: number): Promise<Candidates> {
    return toCandidates(
      await this.redis.retentionCandidates(
        ...this.mailboxKeys(mailbox),
        'delete',
        deletedAt,
        '',
        limit,
      ),
    );
  }

  /** Per id, what retention needs of the message, or null where the hash is gone. */
  async heads(ids: string[]): Promise<Array<MessageHead | null>> {
    // Separate commands: on Cluster the ids live in different slots.
    const rows = await Promise.all(
      ids.map((id) =>
        this.redis.hmget(
          this.keys.message(id),
          'mode',
          'target',
          'createdAt',
          'expiresAt',
          'threadId',
          'replyBy',
        ),
      ),
    );
    return rows.map(([mode, target, createdAt, expiresAt, threadId, replyBy], index) =>
      mode === null || createdAt === null
        ? null
        : {
            mode: mode as AddressingMode,
            target,
            createdAt: Number(createdAt),
            expiresAt: expiresAt === null ? null : Number(expiresAt),
            threadId: threadId ?? ids[index],
            replyBy: replyBy === null ? null : Number(replyBy),
          },
    );
  }

  /**
   * Deletes a message hash, its entries in thread indexes (its thread's, and its own, where
   * it was answered), and its entry in the expiry schedule when it has one.
   */
  async deleteMessage(id: string, head: MessageHead): Promise<void> {
    const thread = threadKey(head.threadId);
    await Promise.all([
      this.redis.del(this.keys.message(id)),
      this.redis.zrem(this.keys.thread(thread), id),
      head.threadId === id ? undefined : this.redis.zrem(this.keys.thread(threadKey(id)), id),
      head.expiresAt === null
        ? undefined
        : this.redis.zrem(
            this.keys.expirySchedule(),
            expiryMember({ id, mode: head.mode, target: head.target, threadId: head.threadId }),
            // The member as versions before the thread's key wrote it.
            expiryMember({ id, mode: head.mode, target: head.target, threadId: id }),
          ),
    ]);
    if (head.threadId !== id) await forgetGoneFirstEntry(this.redis, this.keys, thread);
  }

  /** Lets a message hash expire at `at`, unless it expires sooner already. */
  async expireMessageAt(id: string, head: MessageHead, at: number): Promise<void> {
    // The cleanup of lapsed messages takes it out of its thread's index then (and whatever
    // else names it): a hash that lapses by itself would leave its entries there for good.
    // Two tags, two commands, sent together.
    await Promise.all([
      this.redis.pexpireat(this.keys.message(id), at, 'LT'),
      this.redis.zadd(
        this.keys.expirySchedule(),
        'LT',
        String(at),
        expiryMember({ id, mode: head.mode, target: head.target, threadId: head.threadId }),
      ),
    ]);
  }

  /** Takes the mailbox's dead letters of these ids out of the index of all dead letters. */
  async forgetDeadLetters(mailbox: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis.zrem(this.keys.deadLetterIndex(), ...ids.map((id) => `${mailbox}|${id}`));
  }

  /** Takes the entries out of the mailbox's own keys (trim-mailbox.lua); returns how many left its index. */
  async trim(mailbox: string, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    return this.redis.trimMailbox(
      this.keys.mailboxMessages(mailbox),
      this.keys.mailboxPending(mailbox),
      this.keys.mailboxDeadLetters(mailbox),
      this.keys.mailboxDeadLetterIndex(mailbox),
      this.keys.mailboxRead(mailbox),
      ...ids,
    );
  }

  /**
   * Removes up to `limit` of a deleted mailbox's idempotency keys (listed by
   * claim-idempotency.lua); returns how many it found (0: none are left).
   */
  async forgetIdempotencyKeys(mailbox: string, limit: number): Promise<number> {
    const index = this.keys.idempotencyIndex(mailbox);
    const names = await this.redis.zrange(index, '0', String(limit - 1));
    if (names.length === 0) return 0;
    await this.redis.del(...names);
    await this.redis.zrem(index, ...names);
    return names.length;
  }

  async mailboxCount(): Promise<number> {
    return this.redis.zcard(this.keys.mailboxIndexAll());
  }

  /** Registered mailboxes by rank in the index of all, oldest first. */
  async mailboxNames(offset: number, count: number): Promise<string[]> {
    return this.redis.zrange(
      this.keys.mailboxIndexAll(),
      String(offset),
      String(offset + count - 1),
    );
  }

  /** Where the last run's pass over the mailboxes stopped: a rank in the index of all. */
  async cursor(): Promise<number> {
    const saved = Number(await this.redis.get(this.keys.retentionCursor()));
    return Number.isInteger(saved) && saved > 0 ? saved : 0;
  }

  async saveCursor(rank: number): Promise<void> {
    await this.redis.set(this.keys.retentionCursor(), String(rank));
  }

  /**
   * The topic after which the pass over TOPIC_MAX_MESSAGES goes on (a name, so that topics
   * added or forgotten meanwhile shift nothing), or null to start at the first.
   */
  async topicCursor(): Promise<string | null> {
    return (await this.redis.get(this.keys.topicRetentionCursor())) || null;
  }

  async saveTopicCursor(after: string | null): Promise<void> {
    await this.redis.set(this.keys.topicRetentionCursor(), after ?? '');
  }

  private mailboxKeys(mailbox: string): [string, string, string, string, string] {
    return [
      this.keys.mailboxMetadata(mailbox),
      this.keys.mailboxMessages(mailbox),
      this.keys.mailboxPending(mailbox),
      this.keys.mailboxDeadLetterIndex(mailbox),
      this.keys.mailboxRead(mailbox),
    ];
  }
}
