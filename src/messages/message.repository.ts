import { Inject, Injectable } from '@nestjs/common';
import { decodeTime } from 'ulid';
import { Clock } from '../common/clock';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';
import type { BodyReads } from './body-reads';
import type { AddressingMode } from './message.model';
import { fromHash, isExpired, type StoredMessage } from './stored-message';

/** What a reply needs of the message it answers (MessageRouterService). */
export type AnsweredMessage = Pick<
  StoredMessage,
  'id' | 'sender' | 'mode' | 'target' | 'threadId' | 'replyBy' | 'hop'
>;

/** What a message says of itself besides its body. */
export interface MessageEnvelope {
  id: string;
  sender: string;
  mode: AddressingMode;
  target: string | null;
  threadId: string;
  /** Bytes of its content and metadata as stored: what reading it costs. */
  size: number;
}

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
    const taken = reads.take(await this.sizes(ids));
    return { messages: await this.findMany(ids.slice(0, taken), now), taken };
  }

  /**
   * Each message's stored bytes of the two fields that may be large, content and metadata
   * (0 for one that is gone): what reading it costs.
   */
  async sizes(ids: string[]): Promise<number[]> {
    return Promise.all(
      ids.map(async (id) => {
        const key = this.keys.message(id);
        const [content, metadata] = await Promise.all([
          this.redis.hstrlen(key, 'content'),
          this.redis.hstrlen(key, 'metadata'),
        ]);
        return content + metadata;
      }),
    );
  }

  /**
   * What each of `ids` says of itself besides its body (null for one that is gone or
   * expired): who may read it, its thread, and (unless `sized` is false, when size is 0)
   * what reading it costs.
   */
  async envelopes(
    ids: string[],
    now = this.clock.now(),
    sized = true,
  ): Promise<Array<MessageEnvelope | null>> {
    const [fields, sizes] = await Promise.all([
      Promise.all(
        ids.map((id) =>
          this.redis.hmget(
            this.keys.message(id),
            'sender',
            'mode',
            'target',
            'threadId',
            'expiresAt',
          ),
        ),
      ),
      sized ? this.sizes(ids) : ids.map(() => 0),
    ]);
    return fields.map(([sender, mode, target, threadId, expiresAt], index) => {
      if (sender === null || mode === null) return null;
      if (isExpired({ expiresAt: expiresAt === null ? null : Number(expiresAt) }, now)) return null;
      const id = ids[index];
      return {
        id,
        sender,
        mode: mode as AddressingMode,
        target,
        threadId: threadId ?? id,
        size: sizes[index],
      };
    });
  }

  /**
   * What a reply needs of the message it answers, without its body: null when it is unknown
   * or expired.
   */
  async answered(id: string, now = this.clock.now()): Promise<AnsweredMessage | null> {
    const [sender, mode, target, threadId, replyBy, hop, expiresAt] = await this.redis.hmget(
      this.keys.message(id),
      'sender',
      'mode',
      'target',
      'threadId',
      'replyBy',
      'hop',
      'expiresAt',
    );
    if (sender === null || mode === null) return null;
    if (isExpired({ expiresAt: expiresAt === null ? null : Number(expiresAt) }, now)) return null;
    return {
      id,
      sender,
      mode: mode as AddressingMode,
      target,
      threadId: threadId ?? id,
      replyBy: replyBy === null ? null : Number(replyBy),
      hop: hop === null ? 0 : Number(hop),
    };
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
