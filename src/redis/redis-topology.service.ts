import { Inject, Injectable } from '@nestjs/common';
import { Cluster, type Redis } from 'ioredis';
import {
  AppConfigService,
  redisMode,
  type RedisConfig,
  type RedisMode,
} from '../config/app-config.service';
import { REDIS_COMMANDS } from './redis.constants';
import type { ScriptedClient } from './redis-scripts';

export type PublishCommand = 'PUBLISH' | 'SPUBLISH';

/** Replicas fell short of REDIS_WAIT_REPLICAS: the writes may not survive a failover. */
export class ReplicationShortfallError extends Error {
  constructor(reason: string) {
    super(`the writes are not known to be on a replica: ${reason}`);
    this.name = 'ReplicationShortfallError';
  }
}

/** Which Redis the configuration names, for people: no password, no user. */
export function describeRedis(config: RedisConfig): string {
  const nodes = (list: Array<{ host: string; port: number }>): string =>
    list.map(({ host, port }) => `${host}:${port}`).join(',');
  switch (redisMode(config)) {
    case 'cluster':
      return `Cluster via ${nodes(config.clusterNodes)}`;
    case 'sentinel':
      return `Sentinel master ${config.sentinelMaster} via ${nodes(config.sentinels)}`;
    case 'standalone': {
      const url = new URL(config.url);
      return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
    }
  }
}

function address(node: Redis): string {
  return `${node.options.host ?? '127.0.0.1'}:${node.options.port ?? 6379}`;
}

/** confirmReplicated's answer without REDIS_WAIT_REPLICAS. */
const NOTHING_TO_WAIT_FOR: Promise<void> = Promise.resolve();

/**
 * What differs between standalone Redis, Sentinel and Cluster, in one place: which channels
 * use sharded pub/sub, how subscribers are counted, how a write waits for replicas, and
 * which nodes serve (for health).
 *
 * On Cluster, channels with a hash tag (a mailbox's feed, a message's delivery events, the
 * topic feed `topics:{feed}`) are shard channels: SPUBLISH (from the script that writes the
 * slot, where there is one), SSUBSCRIBE on the primary that owns it, so a message crosses no
 * other node. Channels without a tag (token revocations, mailbox changes and deletions,
 * signing key rotations) stay plain pub/sub, which Cluster forwards to every node; each
 * instance publishes those through one node, so that its announcements keep their order.
 */
@Injectable()
export class RedisTopology {
  readonly mode: RedisMode;
  private readonly waitReplicas: number;
  private readonly waitTimeoutMs: number;
  /** Bumped whenever a command connection closes: WAIT only vouches for its own connection. */
  private connectionEpoch = 0;

  constructor(
    config: AppConfigService,
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
  ) {
    const redisConfig = config.redis;
    this.mode = redisMode(redisConfig);
    this.waitReplicas = redisConfig.waitReplicas;
    this.waitTimeoutMs = redisConfig.waitTimeoutMs;
    const bump = (): void => {
      this.connectionEpoch += 1;
    };
    if (redis instanceof Cluster) {
      redis.on('+node', (node: Redis) => node.on('close', bump));
      redis.on('-node', bump);
    } else {
      redis.on('close', bump);
    }
  }

  /** Taken before a send's first write and handed to confirmReplicated after its last. */
  writeEpoch(): number {
    return this.connectionEpoch;
  }

  /** Whether the channel is a Cluster shard channel (see the class comment). */
  isShardChannel(channel: string): boolean {
    return this.mode === 'cluster' && channel.includes('{');
  }

  publishCommand(channel: string): PublishCommand {
    return this.isShardChannel(channel) ? 'SPUBLISH' : 'PUBLISH';
  }

  /**
   * Publishes on the command connection; returns the receivers Redis counted (on Cluster, for
   * a plain channel, those of the node it went through).
   *
   * A plain PUBLISH names no key, so a Cluster client sends each to any primary, and the
   * Cluster forwards it to the others: two published one after the other through different
   * nodes can reach a subscriber in either order (a mailbox paused, then resumed, told as
   * resumed, then paused). Through one node they keep their order: each goes through the
   * primary of the lowest address.
   */
  async publish(channel: string, payload: string): Promise<number> {
    const command = this.publishCommand(channel);
    const client = command === 'PUBLISH' ? this.plainPublisher() : this.redis;
    return (await client.call(command, channel, payload)) as number;
  }

  /** The connection that plain publishes go through: on Cluster, one primary's. */
  private plainPublisher(): Redis | Cluster {
    if (!(this.redis instanceof Cluster)) return this.redis;
    let chosen: Redis | null = null;
    for (const node of this.redis.nodes('master')) {
      if (chosen === null || address(node) < address(chosen)) chosen = node;
    }
    // Not connected to any yet: the client queues the command until it is.
    return chosen ?? this.redis;
  }

  /**
   * Subscriptions to each channel over all instances, summed over the nodes of a Cluster: a
   * shard channel's subscribers sit on its slot's owner, and asking every primary stays right
   * while a slot moves between them.
   */
  async subscriberCounts(channels: string[]): Promise<number[]> {
    if (channels.length === 0) return [];
    const sharded = channels.filter((channel) => this.isShardChannel(channel));
    const plain = channels.filter((channel) => !this.isShardChannel(channel));
    const counts = new Map<string, number>();
    const add = (reply: unknown): void => {
      const pairs = reply as Array<string | number>;
      for (let index = 0; index < pairs.length; index += 2) {
        const channel = String(pairs[index]);
        counts.set(channel, (counts.get(channel) ?? 0) + Number(pairs[index + 1]));
      }
    };
    // Each node counts the connections it holds. A Cluster's shard subscribers sit on its
    // primaries (ioredis keeps one per primary): ask those, and answer only when each has.
    // Its plain pub/sub subscribers may sit on any node: ask them all, and count what the
    // nodes that answer hold, so that a replica that is slow or gone fails no count.
    const cluster = this.redis instanceof Cluster ? this.redis : null;
    const asks: Array<Promise<void>> = [];
    if (sharded.length > 0) {
      for (const node of cluster ? cluster.nodes('master') : [this.redis])
        asks.push(node.call('PUBSUB', 'SHARDNUMSUB', ...sharded).then(add));
    }
    if (plain.length > 0) {
      const nodes = cluster ? cluster.nodes('all') : [this.redis];
      const plainAsks = nodes.map((node) => node.call('PUBSUB', 'NUMSUB', ...plain).then(add));
      asks.push(
        cluster
          ? Promise.allSettled(plainAsks).then(() => undefined)
          : Promise.all(plainAsks).then(() => undefined),
      );
    }
    await Promise.all(asks);
    return channels.map((channel) => counts.get(channel) ?? 0);
  }

  /**
   * With REDIS_WAIT_REPLICAS set, waits until that many replicas hold every write this
   * connection made so far (WAIT, on every primary on Cluster), and throws
   * ReplicationShortfallError if they do not within REDIS_WAIT_TIMEOUT, or if a connection
   * closed since `epoch` (the writes may have gone to a primary that was then demoted, and a
   * WAIT on the new connection would vouch for nothing): the caller then does not
   * acknowledge the writes. Redis replication stays asynchronous; this narrows what a
   * failover can lose to writes that no replica had yet. Without it, one promise settled
   * already serves every send: nothing to wait for, and nothing made per send.
   */
  confirmReplicated(epoch: number): Promise<void> {
    return this.waitReplicas === 0 ? NOTHING_TO_WAIT_FOR : this.waitForReplicas(epoch);
  }

  private async waitForReplicas(epoch: number): Promise<void> {
    const targets: Array<Redis | Cluster> =
      this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    const replies = await Promise.all(
      targets.map(
        (target) => target.call('WAIT', this.waitReplicas, this.waitTimeoutMs) as Promise<number>,
      ),
    );
    const confirmed = Math.min(...replies);
    if (confirmed < this.waitReplicas)
      throw new ReplicationShortfallError(
        `${confirmed} of ${this.waitReplicas} replicas confirmed within ${this.waitTimeoutMs} ms`,
      );
    if (this.connectionEpoch !== epoch)
      throw new ReplicationShortfallError('the connection to Redis changed meanwhile');
  }

  /** The mode and the nodes serving now (primaries first on Cluster), for health. */
  describe(): { mode: RedisMode; nodes: string[] } {
    if (this.redis instanceof Cluster) {
      const primaries = this.redis.nodes('master').map(address);
      const replicas = this.redis.nodes('slave').map((node) => `${address(node)} (replica)`);
      return { mode: this.mode, nodes: [...primaries, ...replicas] };
    }
    const stream = (
      this.redis as unknown as { stream?: { remoteAddress?: string; remotePort?: number } }
    ).stream;
    const connected =
      stream?.remoteAddress !== undefined ? `${stream.remoteAddress}:${stream.remotePort}` : null;
    return { mode: this.mode, nodes: connected ? [connected] : [] };
  }
}
