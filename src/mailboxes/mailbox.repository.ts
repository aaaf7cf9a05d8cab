import { Inject, Injectable } from '@nestjs/common';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import { RedisTopology } from '../redis/redis-topology.service';
import type { ScriptedClient } from '../redis/redis-scripts';
import { EnqueueCode } from '../redis/script-codes';
import { readStoredJson } from '../common/stored-json';

export interface MailboxRecord {
  name: string;
  active: boolean;
  createdAt: number;
  lastSeenAt: number | null;
  metadata: unknown;
}

/** What happened when a message was put in a mailbox. */
export type EnqueueOutcome =
  | { kind: 'delivered'; receivers: number }
  | { kind: 'missing' }
  | { kind: 'duplicate' };

function toRecord(hash: Record<string, string>): MailboxRecord | null {
  if (!hash.name) return null;
  return {
    name: hash.name,
    active: hash.active === '1',
    createdAt: Number(hash.createdAt),
    lastSeenAt: hash.lastSeenAt ? Number(hash.lastSeenAt) : null,
    metadata: hash.metadata ? readStoredJson(hash.metadata) : null,
  };
}

/**
 * Owns `mailbox:{name}:*` and the mailbox index. The metadata hash is the truth about a
 * mailbox; the index is written before it on register and after it on deactivate, so a
 * crash between the two leaves at worst an index entry that the enqueue script skips.
 */
@Injectable()
export class MailboxRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly topology: RedisTopology,
  ) {}

  /** `tokenHash` is a digest of the mailbox's token; the token itself is never stored. */
  async register(
    name: string,
    metadata: unknown,
    tokenHash: string,
    now: number,
  ): Promise<boolean> {
    await this.redis.zadd(this.keys.mailboxIndexAll(), 'NX', String(now), name);
    await this.redis.sadd(this.keys.mailboxIndexActive(), name);
    const registered = await this.redis.registerMailbox(
      this.keys.mailboxMetadata(name),
      name,
      now,
      metadata === null || metadata === undefined ? '' : JSON.stringify(metadata),
      tokenHash,
    );
    return registered === 1;
  }

  async deactivate(name: string, now: number): Promise<boolean> {
    const found = await this.redis.deactivateMailbox(this.keys.mailboxMetadata(name), now);
    await this.redis.srem(this.keys.mailboxIndexActive(), name);
    return found === 1;
  }

  async find(name: string): Promise<MailboxRecord | null> {
    return toRecord(await this.redis.hgetall(this.keys.mailboxMetadata(name)));
  }

  async findMany(names: string[]): Promise<MailboxRecord[]> {
    const hashes = await Promise.all(
      names.map((name) => this.redis.hgetall(this.keys.mailboxMetadata(name))),
    );
    return hashes.map(toRecord).filter((record): record is MailboxRecord => record !== null);
  }

  /** Every registered mailbox name, oldest first. */
  async allNames(): Promise<string[]> {
    return this.redis.zrange(this.keys.mailboxIndexAll(), '0', '-1');
  }

  /** Names of the mailboxes a broadcast goes to (each is checked again when enqueued). */
  async activeNames(): Promise<string[]> {
    return this.redis.smembers(this.keys.mailboxIndexActive());
  }

  /**
   * Adds a stored message to the mailbox and pushes it to the mailbox's feed, atomically;
   * a message already there is neither added nor pushed again.
   */
  async enqueue(
    name: string,
    id: string,
    createdAt: number,
    payload: string,
    requiresConfirmation: boolean,
  ): Promise<EnqueueOutcome> {
    const result = await this.redis.enqueueMailbox(
      this.keys.mailboxMetadata(name),
      this.keys.mailboxMessages(name),
      this.keys.mailboxPending(name),
      id,
      createdAt,
      this.keys.mailboxFeed(name),
      payload,
      requiresConfirmation ? '1' : '0',
      this.topology.publishCommand(this.keys.mailboxFeed(name)),
    );
    if (result === EnqueueCode.Missing) return { kind: 'missing' };
    if (result === EnqueueCode.Duplicate) return { kind: 'duplicate' };
    return { kind: 'delivered', receivers: result };
  }

  /** Records that the owner was seen; does nothing for an unknown mailbox. */
  async touch(name: string, now: number): Promise<void> {
    await this.redis.touchMailbox(this.keys.mailboxMetadata(name), now);
  }

  /**
   * Whether a live subscription to the mailbox is open on any instance: each instance holds
   * one Redis subscription per mailbox with local subscribers, so Redis's own count answers,
   * and a crashed instance's subscription vanishes with its connection.
   */
  async online(names: string[]): Promise<boolean[]> {
    const counts = await this.topology.subscriberCounts(
      names.map((name) => this.keys.mailboxFeed(name)),
    );
    return counts.map((count) => count > 0);
  }

  /** Whether the message is in the mailbox. */
  async holds(name: string, messageId: string): Promise<boolean> {
    return (await this.redis.zscore(this.keys.mailboxMessages(name), messageId)) !== null;
  }

  /** The stored digest of the mailbox's token, or null (no mailbox, or token revoked). */
  async tokenDigest(name: string): Promise<string | null> {
    return this.redis.hget(this.keys.mailboxMetadata(name), 'tokenHash');
  }

  /** Sets (or with null removes) the token digest; returns the previous one, or false for no mailbox. */
  async replaceTokenDigest(name: string, digest: string | null): Promise<string | false> {
    const previous = await this.redis.setToken(this.keys.mailboxMetadata(name), digest ?? '');
    return previous === null ? false : previous;
  }

  /** Publishes a message to the mailbox's feed; returns how many instances received it. */
  async push(name: string, payload: string): Promise<number> {
    return this.topology.publish(this.keys.mailboxFeed(name), payload);
  }

  messagesKey(name: string): string {
    return this.keys.mailboxMessages(name);
  }

  feedChannel(name: string): string {
    return this.keys.mailboxFeed(name);
  }
}
