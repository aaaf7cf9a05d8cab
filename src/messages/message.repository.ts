import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';
import type { BodyReads } from './body-reads';
import { messageIdTime } from './message-id';
import type { AddressingMode } from './message.model';
import { fromHash, hashOfEntries, isExpired, type StoredMessage } from './stored-message';

/**
 * What a message says of itself besides its body: who may read it (sender, mode, target), its
 * thread, and what a reply to it needs (replyBy, hop).
 */
export type MessageEnvelope = Pick<
  StoredMessage,
  'id' | 'sender' | 'mode' | 'target' | 'threadId' | 'replyBy' | 'hop'
>;

/** The hash fields an envelope is read from, in the order envelopes() reads them. */
const ENVELOPE_FIELDS = ['sender', 'mode', 'target', 'threadId', 'replyBy', 'hop', 'expiresAt'];

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
   * a budget (null), every id. When `reads` asks for `contentBytes`, each content holds its
   * first bytes only (findPreviews); the budget counts whole bodies all the same, since Redis
   * reads each whole to cut it.
   */
  async findWithin(
    ids: string[],
    reads: BodyReads | null,
    now = this.clock.now(),
  ): Promise<{ messages: StoredMessage[]; taken: number }> {
    if (reads === null || ids.length === 0) {
      return { messages: await this.findMany(ids, now), taken: ids.length };
    }
    const prefix = reads.contentBytes;
    // A read of no content reads none: only the metadata counts.
    const fields = await this.fieldSizes(ids, prefix !== 0);
    const taken = reads.take(
      fields.map(([content, metadata]) => reads.cost?.(content, metadata) ?? content + metadata),
    );
    const read = ids.slice(0, taken);
    return {
      messages:
        prefix === undefined
          ? await this.findMany(read, now)
          : await this.findPreviews(read, prefix, now),
      taken,
    };
  }

  /**
   * As findMany, each content cut to its first `bytes` (never inside a UTF-8 character) by
   * Redis, so that a listing of large messages moves no more of them than it shows (0: no
   * content at all, for a page that selects no field of the body); a message whose content
   * was cut has `contentCut`.
   */
  async findPreviews(
    ids: string[],
    bytes: number,
    now = this.clock.now(),
  ): Promise<StoredMessage[]> {
    const answers = await Promise.all(
      ids.map((id) => this.redis.messagePreview(this.keys.message(id), bytes)),
    );
    const messages: StoredMessage[] = [];
    for (const [entries, cut] of answers) {
      const message = fromHash(hashOfEntries(entries));
      if (message === null || isExpired(message, now)) continue;
      if (cut === 1) message.contentCut = true;
      messages.push(message);
    }
    return messages;
  }

  /**
   * Each message's stored bytes of the two fields that may be large, content and metadata
   * (0 for one that is gone): what reading it costs.
   */
  async sizes(ids: string[]): Promise<number[]> {
    return (await this.fieldSizes(ids, true)).map(([content, metadata]) => content + metadata);
  }

  /** Each message's bytes of content (0 without `content`) and of metadata. */
  private async fieldSizes(ids: string[], content: boolean): Promise<Array<[number, number]>> {
    return Promise.all(
      ids.map((id) => {
        const key = this.keys.message(id);
        return Promise.all([
          content ? this.redis.hstrlen(key, 'content') : 0,
          this.redis.hstrlen(key, 'metadata'),
        ]);
      }),
    );
  }

  /**
   * What each of `ids` says of itself besides its body (null for one that is gone or
   * expired): enough to decide who may read it, to filter a page on its sender or thread, and
   * to answer it, before any body is read.
   */
  async envelopes(ids: string[], now = this.clock.now()): Promise<Array<MessageEnvelope | null>> {
    const fields = await Promise.all(
      ids.map((id) => this.redis.hmget(this.keys.message(id), ...ENVELOPE_FIELDS)),
    );
    return fields.map(([sender, mode, target, threadId, replyBy, hop, expiresAt], index) => {
      if (sender === null || mode === null) return null;
      if (isExpired({ expiresAt: expiresAt === null ? null : Number(expiresAt) }, now)) return null;
      const id = ids[index];
      return {
        id,
        sender,
        mode: mode as AddressingMode,
        target,
        threadId: threadId ?? id,
        replyBy: replyBy === null ? null : Number(replyBy),
        hop: hop === null ? 0 : Number(hop),
      };
    });
  }

  /**
   * Ids newer than `after` in a message index, oldest first. `after` = '0' or null reads from
   * the start. Callers validate `after` as a message id first.
   */
  async pageIds(indexKey: string, after: string | null, count: number): Promise<IdPage> {
    const cursor = after ?? '0';
    const score = cursor === '0' ? '-inf' : messageIdTime(cursor);
    const ids = await this.redis.pageIds(indexKey, cursor, score, count + 1);
    return { ids: ids.slice(0, count), hasNextPage: ids.length > count };
  }
}
