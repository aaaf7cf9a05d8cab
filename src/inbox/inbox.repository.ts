import { Inject, Injectable } from '@nestjs/common';
import { messageIdTime } from '../messages/message-id';
import { threadKey } from '../messages/thread-key';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';

/** Index entries one mark-read.lua call looks at when marking up to an id. */
const MARK_SLICE = 2_000;

/**
 * A mailbox's read state and the thread indexes. Read marks live beside the mailbox's index
 * under its hash tag (`mailbox:{name}:read`), so they work on Cluster and a send costs nothing
 * extra: unread is the index minus the read marks.
 */
@Injectable()
export class InboxRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
  ) {}

  /** Messages in the mailbox that it has not marked read. */
  async unreadCount(mailbox: string): Promise<number> {
    const [total, read] = await Promise.all([
      this.redis.zcard(this.keys.mailboxMessages(mailbox)),
      this.redis.zcard(this.keys.mailboxRead(mailbox)),
    ]);
    return Math.max(0, total - read);
  }

  /**
   * The last of the mailbox's oldest messages that are all read (read-prefix.lua), or null when
   * its oldest message is unread: every unread message comes after it.
   */
  async readPrefixEnd(mailbox: string): Promise<string | null> {
    const last = await this.redis.readPrefix(
      this.keys.mailboxMessages(mailbox),
      this.keys.mailboxRead(mailbox),
    );
    return last === '' ? null : last;
  }

  /** Marks these ids read, where they are in the mailbox; returns how many were unread. */
  async markIds(mailbox: string, ids: string[]): Promise<number> {
    if (ids.length === 0) return 0;
    const [marked] = await this.redis.markRead(
      this.keys.mailboxMessages(mailbox),
      this.keys.mailboxRead(mailbox),
      'ids',
      ...ids,
    );
    return marked;
  }

  /**
   * Marks every message of the mailbox up to and including `upTo` read, in slices so that no
   * one script holds Redis long; returns how many were unread.
   */
  async markUpTo(mailbox: string, upTo: string): Promise<number> {
    let marked = 0;
    let after = '0';
    for (;;) {
      const [slice, examined, last] = await this.redis.markRead(
        this.keys.mailboxMessages(mailbox),
        this.keys.mailboxRead(mailbox),
        'upTo',
        upTo,
        messageIdTime(upTo),
        after,
        after === '0' ? '-inf' : messageIdTime(after),
        MARK_SLICE,
      );
      marked += slice;
      if (examined < MARK_SLICE || last === undefined) return marked;
      after = last;
    }
  }

  /** Per id: whether it is in the mailbox's index. */
  async inMailbox(mailbox: string, ids: string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const scores = await this.redis.zmscore(this.keys.mailboxMessages(mailbox), ...ids);
    return scores.map((score) => score !== null);
  }

  /** The key of a thread's index, for paging with MessageRepository.pageIds. */
  threadIndex(threadId: string): string {
    return this.keys.thread(threadKey(threadId));
  }
}
