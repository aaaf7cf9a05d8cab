import type { Cluster, Redis } from 'ioredis';
import { RedisCluster, type RedisClusterOptions } from './redis-cluster';
import { RedisSentinelGroup, type RedisSentinelGroupOptions } from './redis-sentinel';
import { RedisServer, type RedisServerOptions } from './redis-server';

// One way for a suite to run against standalone Redis, Redis Cluster or Redis Sentinel:
// startRedisBackend() starts the topology TEST_REDIS_TOPOLOGY names, gives the service its
// environment and gives the test clients for assertions.

export type Topology = 'standalone' | 'cluster' | 'sentinel';

const TOPOLOGIES: readonly Topology[] = ['standalone', 'cluster', 'sentinel'];

/** From process.env.TEST_REDIS_TOPOLOGY, default 'standalone'. */
export function testTopology(): Topology {
  const value = process.env.TEST_REDIS_TOPOLOGY;
  if (value === undefined || value === '') return 'standalone';
  const topology = TOPOLOGIES.find((candidate) => candidate === value);
  if (!topology) {
    throw new Error(`TEST_REDIS_TOPOLOGY=${value}: expected one of ${TOPOLOGIES.join(', ')}`);
  }
  return topology;
}

export interface RedisBackend {
  readonly topology: Topology;
  /** Environment for the service: { REDIS_URL } or { REDIS_CLUSTER_NODES } or { REDIS_SENTINELS, REDIS_SENTINEL_MASTER }. */
  readonly environment: Record<string, string>;
  /** A fresh client for assertions (Cluster on cluster, the master through sentinels on sentinel); the caller quits it. */
  client(): Redis | Cluster;
  /** Fresh plain clients of every current primary (one for standalone/sentinel); the caller quits them. */
  primaryClients(): Promise<Redis[]>;
  /** Fresh plain clients of every running node, primaries and replicas; the caller quits them. */
  nodeClients(): Promise<Redis[]>;
  destroy(): Promise<void>;
}

/** A standalone redis-server (RedisServer): `server` for faults (stop, kill, pause...). */
export class StandaloneBackend implements RedisBackend {
  readonly topology = 'standalone';

  private constructor(readonly server: RedisServer) {}

  static async start(options?: RedisServerOptions): Promise<StandaloneBackend> {
    return new StandaloneBackend(await RedisServer.start(options));
  }

  get environment(): Record<string, string> {
    return { REDIS_URL: this.server.url };
  }

  client(): Redis {
    return this.server.client();
  }

  primaryClients(): Promise<Redis[]> {
    return Promise.resolve([this.server.client()]);
  }

  nodeClients(): Promise<Redis[]> {
    return this.primaryClients();
  }

  destroy(): Promise<void> {
    return this.server.destroy();
  }
}

/** A Redis Cluster (RedisCluster, 3 primaries by default): `cluster` for faults and failovers. */
export class ClusterBackend implements RedisBackend {
  readonly topology = 'cluster';

  private constructor(readonly cluster: RedisCluster) {}

  static async start(options?: RedisClusterOptions): Promise<ClusterBackend> {
    return new ClusterBackend(await RedisCluster.start(options));
  }

  get environment(): Record<string, string> {
    return { REDIS_CLUSTER_NODES: this.cluster.nodes };
  }

  client(): Cluster {
    return this.cluster.client();
  }

  async primaryClients(): Promise<Redis[]> {
    return (await this.cluster.primaryPorts()).map((port) => this.cluster.nodeClient(port));
  }

  nodeClients(): Promise<Redis[]> {
    return Promise.resolve(
      this.cluster.runningPorts().map((port) => this.cluster.nodeClient(port)),
    );
  }

  destroy(): Promise<void> {
    return this.cluster.destroy();
  }
}

/** A primary, replicas and sentinels (RedisSentinelGroup): `group` for failovers. */
export class SentinelBackend implements RedisBackend {
  readonly topology = 'sentinel';

  private constructor(readonly group: RedisSentinelGroup) {}

  static async start(options?: RedisSentinelGroupOptions): Promise<SentinelBackend> {
    return new SentinelBackend(await RedisSentinelGroup.start(options));
  }

  get environment(): Record<string, string> {
    return { REDIS_SENTINELS: this.group.sentinels, REDIS_SENTINEL_MASTER: this.group.masterName };
  }

  client(): Redis {
    return this.group.client();
  }

  async primaryClients(): Promise<Redis[]> {
    return [this.group.nodeClient(await this.group.masterPort())];
  }

  async nodeClients(): Promise<Redis[]> {
    const master = await this.group.masterPort();
    return [master, ...(await this.group.replicaPorts())].map((port) =>
      this.group.nodeClient(port),
    );
  }

  destroy(): Promise<void> {
    return this.group.destroy();
  }
}

export async function startRedisBackend(
  topology: Topology = testTopology(),
): Promise<RedisBackend> {
  switch (topology) {
    case 'standalone':
      return StandaloneBackend.start();
    case 'cluster':
      return ClusterBackend.start();
    case 'sentinel':
      return SentinelBackend.start();
  }
}
