import { Inject, Injectable } from '@nestjs/common';
import { decodeTime } from 'ulid';
import { Clock } from '../common/clock';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';
import type { BodyReads } from './body-reads';
import { fromHash, isExpired, type StoredMessage } from './stored-message';

/** A page of ids read from a message index. */
export interface IdPage {
  ids: string[];
  hasNextPage: boolean;
}

/**
 * Reads `message:{id}` and pages message indexes (mailbox and topic zsets); the store step
 * (src/store/message-store.ts) writes them.
 */
@Injectable()
export class MessageRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
  ) {}

  /** The message, or null when it is unknown or expired. */
  async find(id: string, now = this.clock.now()): Promise<StoredMessage | null> {
    const message = fromHash(await this.redis.hgetall(this.keys.message(id)));
    return message && !isExpired(message, now) ? message : null;
  }

  /** The messages of `ids` that exist and are unexpired, in the order given. */
  async findMany(ids: string[], now = this.clock.now()): Promise<StoredMessage[]> {
    // Separate commands, not one pipeline: on Cluster the ids live in different slots. They
    // are written at once and answered in order, so the read costs one round trip per node.
    const hashes = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.message(id))));
    return hashes
      .map((hash) => fromHash(hash))
      .filter((message): message is StoredMessage => message !== null && !isExpired(message, now));
  }

  /**
   * The messages of the first of `ids` whose bodies `reads` lets this read take (their sizes
   * are read first, without the bodies), as findMany, with how many ids that covers. Without
   * a budget (null), every id.
   */
  async findWithin(
    ids: string[],
    reads: BodyReads | null,
    now = this.clock.now(),
  ): Promise<{ messages: StoredMessage[]; taken: number }> {
    if (reads === null || ids.length === 0) {
      return { messages: await this.findMany(ids, now), taken: ids.length };
    }
    const sizes = await Promise.all(
      ids.map((id) => this.redis.hstrlen(this.keys.message(id), 'content')),
    );
    const taken = reads.take(sizes);
    return { messages: await this.findMany(ids.slice(0, taken), now), taken };
  }

  /**
   * The sender and thread of each of `ids`, without the rest of the message (null for one
   * that is gone): enough to filter a page before its bodies are read. Expiry is left to
   * the read of the messages kept.
   */
  async senderAndThread(
    ids: string[],
  ): Promise<Array<{ sender: string; threadId: string } | null>> {
    const fields = await Promise.all(
      ids.map((id) => this.redis.hmget(this.keys.message(id), 'sender', 'threadId')),
    );
    return fields.map(([sender, threadId], index) =>
      sender === null ? null : { sender, threadId: threadId ?? ids[index] },
    );
  }

  /**
   * Ids newer than `after` in a message index, oldest first. `after` = '0' or null reads from
   * the start. Callers validate `after` as a message id first.
   */
  async pageIds(indexKey: string, after: string | null, count: number): Promise<IdPage> {
    const cursor = after ?? '0';
    const score = cursor === '0' ? '-inf' : decodeTime(cursor);
    const ids = await this.redis.pageIds(indexKey, cursor, score, count + 1);
    return { ids: ids.slice(0, count), hasNextPage: ids.length > count };
  }
}
