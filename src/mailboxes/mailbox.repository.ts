import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfigService } from '../config/app-config.service';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import { RedisTopology } from '../redis/redis-topology.service';
import type { ScriptedClient } from '../redis/redis-scripts';
import { EnqueueCode, RegisterCode, TouchCode } from '../redis/script-codes';
import { readStoredJson } from '../common/stored-json';
import { readStoredPolicy } from '../safety/contact-policy';

export interface MailboxRecord {
  name: string;
  active: boolean;
  createdAt: number;
  lastSeenAt: number | null;
  metadata: unknown;
  /** Its contact policy (setContactPolicy); null: anyone may write. */
  acceptFrom: string[] | null;
}

/** What happened when a message was put in a mailbox. */
export type EnqueueOutcome =
  { kind: 'delivered'; receivers: number } | { kind: 'missing' } | { kind: 'duplicate' };

/** A WITHSCORES reply as [member, score] pairs. */
function pairs(reply: string[]): Array<[string, number]> {
  const result: Array<[string, number]> = [];
  for (let index = 0; index < reply.length; index += 2) {
    result.push([reply[index], Number(reply[index + 1])]);
  }
  return result;
}

function toRecord(hash: Record<string, string>): MailboxRecord | null {
  if (!hash.name) return null;
  return {
    name: hash.name,
    active: hash.active === '1',
    createdAt: Number(hash.createdAt),
    lastSeenAt: hash.lastSeenAt ? Number(hash.lastSeenAt) : null,
    metadata: hash.metadata ? readStoredJson(hash.metadata) : null,
    acceptFrom: readStoredPolicy(hash.acceptFrom),
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
    private readonly config: AppConfigService,
    private readonly clock: Clock,
  ) {}

  /**
   * Registers a mailbox, or reactivates a deactivated one. `tokenHash` is a digest of the
   * mailbox's token; the token itself is never stored. `replacedDigest`: the digest of the
   * token a reactivation replaced, for its caller to revoke.
   */
  async register(
    name: string,
    metadata: unknown,
    tokenHash: string,
    now: number,
  ): Promise<{ registered: boolean; replacedDigest: string | null }> {
    await this.redis.zadd(this.keys.mailboxIndexAll(), 'NX', String(now), name);
    await this.redis.sadd(this.keys.mailboxIndexActive(), name);
    const [code, previous] = await this.redis.registerMailbox(
      this.keys.mailboxMetadata(name),
      name,
      now,
      metadata === null || metadata === undefined ? '' : JSON.stringify(metadata),
      tokenHash,
    );
    return {
      registered: code === RegisterCode.Registered,
      replacedDigest: previous === '' ? null : previous,
    };
  }

  async deactivate(name: string, now: number): Promise<boolean> {
    const found = await this.redis.deactivateMailbox(this.keys.mailboxMetadata(name), now);
    await this.redis.srem(this.keys.mailboxIndexActive(), name);
    return found === 1;
  }

  /**
   * When the mailbox now registered under `name` was first registered (epoch ms; a
   * reactivation keeps it), or null when there is none.
   */
  async registeredAt(name: string): Promise<number | null> {
    const createdAt = await this.redis.hget(this.keys.mailboxMetadata(name), 'createdAt');
    return createdAt === null ? null : Number(createdAt);
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

  /**
   * Names of the mailboxes a broadcast goes to (each is checked again when enqueued): the
   * active ones, and with BROADCAST_ACTIVE_WITHIN only those seen within that window.
   */
  async activeNames(): Promise<string[]> {
    const windowMs = this.config.retention.broadcastActiveWithinMs;
    if (windowMs > 0) return this.activeNamesSeenSince(this.clock.now() - windowMs);
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

  /** Per id: whether the mailbox marked it read (`mailbox:{name}:read`). */
  async readFlags(name: string, ids: string[]): Promise<boolean[]> {
    if (ids.length === 0) return [];
    const scores = await this.redis.zmscore(this.keys.mailboxRead(name), ...ids);
    return scores.map((score) => score !== null);
  }

  /** Whether the message is in the mailbox. */
  async holds(name: string, messageId: string): Promise<boolean> {
    return (await this.redis.zscore(this.keys.mailboxMessages(name), messageId)) !== null;
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

  /**
   * The active mailboxes but those last seen before `since` (`mailboxes:{index}:seen`), in
   * two reads of one hash tag whatever the number of mailboxes. A mailbox the seen index does
   * not hold yet (registered by a version without it, until the cleanup loop adds it) counts
   * as seen.
   */
  async activeNamesSeenSince(since: number): Promise<string[]> {
    const [active, stale] = await Promise.all([
      this.redis.smembers(this.keys.mailboxIndexActive()),
      this.redis.zrange(this.keys.mailboxIndexSeen(), '-inf', `(${since}`, 'BYSCORE'),
    ]);
    if (stale.length === 0) return active;
    const skip = new Set(stale);
    return active.filter((name) => !skip.has(name));
  }

  /**
   * Records that the owner was seen, in the metadata and in the seen index; does nothing for
   * an unknown mailbox.
   */
  async recordSighting(name: string, now: number): Promise<void> {
    const recorded = await this.redis.touchMailbox(this.keys.mailboxMetadata(name), now);
    if (recorded === TouchCode.Recorded) await this.markSeen(name, now);
  }

  /** Moves the mailbox's entry in the seen index forward to `at` (never back). */
  async markSeen(name: string, at: number): Promise<void> {
    await this.redis.zadd(this.keys.mailboxIndexSeen(), 'GT', String(at), name);
  }

  /** Adds mailboxes the seen index does not hold yet, with when each was last seen. */
  async addMissingSightings(sightings: Array<{ name: string; at: number }>): Promise<void> {
    if (sightings.length === 0) return;
    await this.redis.zadd(
      this.keys.mailboxIndexSeen(),
      'NX',
      ...sightings.flatMap(({ name, at }) => [String(at), name]),
    );
  }

  /**
   * Notes that the mailbox is being deleted, before anything of it goes, so that the cleanup
   * loop finishes a deletion that a crash cut short. A later deletion of the name moves the
   * time forward.
   */
  async recordDeletion(name: string, at: number): Promise<void> {
    await this.redis.zadd(this.keys.mailboxIndexDeleting(), 'GT', String(at), name);
  }

  /** Whether the cleanup loop is still removing the entries of a deleted mailbox of this name. */
  async deletionPending(name: string): Promise<boolean> {
    return (await this.redis.zscore(this.keys.mailboxIndexDeleting(), name)) !== null;
  }

  /** The oldest deletions still to finish, with their deletion times. */
  async pendingDeletions(limit: number): Promise<Array<{ name: string; at: number }>> {
    const flat = await this.redis.zrange(
      this.keys.mailboxIndexDeleting(),
      '0',
      String(limit - 1),
      'WITHSCORES',
    );
    const deletions: Array<{ name: string; at: number }> = [];
    for (let i = 0; i < flat.length; i += 2)
      deletions.push({ name: flat[i], at: Number(flat[i + 1]) });
    return deletions;
  }

  /**
   * Deletes the mailbox's metadata (its token digest with it) and its rate-limit bucket
   * (delete-mailbox.lua), unless a mailbox of the name was registered after `at`. Returns
   * the deleted mailbox's token digest ('' when it held none), or null when none was deleted.
   */
  async deleteMetadata(name: string, at: number): Promise<string | null> {
    return this.redis.deleteMailbox(this.keys.mailboxMetadata(name), this.keys.rateLimit(name), at);
  }

  /** Takes the name out of the mailbox indexes: it is listed nowhere and gets no broadcast. */
  async unlist(name: string): Promise<void> {
    await Promise.all([
      this.redis.srem(this.keys.mailboxIndexActive(), name),
      this.redis.zrem(this.keys.mailboxIndexAll(), name),
      this.redis.zrem(this.keys.mailboxIndexSeen(), name),
    ]);
  }

  /** Forgets a finished deletion (finish-deletion.lua), unless the name was deleted again since. */
  async finishDeletion(name: string, at: number): Promise<void> {
    await this.redis.finishDeletion(this.keys.mailboxIndexDeleting(), name, at);
  }

  /** Tells every instance that the mailbox was deleted, so that they end its feeds. */
  async announceDeletion(name: string): Promise<void> {
    await this.topology.publish(this.keys.mailboxDeletions(), JSON.stringify({ name }));
  }

  deletionChannel(): string {
    return this.keys.mailboxDeletions();
  }

  /** Tells every instance's `mailboxChanges` subscribers; `payload` is a MailboxChange as JSON. */
  async announceChange(payload: string): Promise<void> {
    await this.topology.publish(this.keys.mailboxChanges(), payload);
  }

  changesChannel(): string {
    return this.keys.mailboxChanges();
  }

  /** Every registered mailbox with its creation time, oldest first: one read. */
  async allNamesWithCreation(): Promise<Array<{ name: string; createdAt: number }>> {
    return pairs(await this.redis.zrange(this.keys.mailboxIndexAll(), '0', '-1', 'WITHSCORES')).map(
      ([name, score]) => ({ name, createdAt: score }),
    );
  }

  /** When the mailbox's owner was last seen (`lastSeenAt`, epoch ms); 0 for never. */
  async lastSeenAt(name: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.mailboxMetadata(name), 'lastSeenAt')) ?? 0);
  }

  /**
   * The seen index: each mailbox's last sighting or, if later, its registration (epoch ms).
   * One read for every mailbox, where `lastSeenAt` takes a read each.
   */
  async lastActivity(): Promise<Map<string, number>> {
    return new Map(
      pairs(await this.redis.zrange(this.keys.mailboxIndexSeen(), '0', '-1', 'WITHSCORES')),
    );
  }

  /** The active mailboxes' names (the broadcast index). */
  async activeSet(): Promise<Set<string>> {
    return new Set(await this.redis.smembers(this.keys.mailboxIndexActive()));
  }

  messagesKey(name: string): string {
    return this.keys.mailboxMessages(name);
  }

  feedChannel(name: string): string {
    return this.keys.mailboxFeed(name);
  }
}
