import { Inject, Injectable } from '@nestjs/common';
import { decodeTime } from 'ulid';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';
import { fromHash, isExpired, toHashFields, type StoredMessage } from './stored-message';

/** A page of ids read from a message index. */
export interface IdPage {
  ids: string[];
  hasNextPage: boolean;
}

/** Owns `message:{id}` and the paging of message indexes (mailbox and topic zsets). */
@Injectable()
export class MessageRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
  ) {}

  /** Writes the message once; a second write of the same id changes nothing. */
  async store(message: StoredMessage): Promise<boolean> {
    const written = await this.redis.storeMessage(
      this.keys.message(message.id),
      message.expiresAt === null ? '' : String(message.expiresAt),
      ...toHashFields(message),
    );
    return written === 1;
  }

  async remove(id: string): Promise<void> {
    await this.redis.del(this.keys.message(id));
  }

  /** The message, or null when it is unknown or expired. */
  async find(id: string, now = Date.now()): Promise<StoredMessage | null> {
    const message = fromHash(await this.redis.hgetall(this.keys.message(id)));
    return message && !isExpired(message, now) ? message : null;
  }

  /** The messages of `ids` that exist and are unexpired, in the order given. */
  async findMany(ids: string[], now = Date.now()): Promise<StoredMessage[]> {
    // Separate commands, not one pipeline: on Cluster the ids live in different slots. They
    // are written at once and answered in order, so the read costs one round trip per node.
    const hashes = await Promise.all(ids.map((id) => this.redis.hgetall(this.keys.message(id))));
    return hashes
      .map((hash) => fromHash(hash))
      .filter((message): message is StoredMessage => message !== null && !isExpired(message, now));
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
