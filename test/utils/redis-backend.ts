import type { Cluster, Redis } from 'ioredis';
import { nodeCommand, RedisCluster, type RedisClusterOptions } from './redis-cluster';
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
  /**
   * An outage of the whole of Redis: every data node saves its data (SAVE) and stops
   * (sentinels stay up), as a restart of servers that keep their data would.
   */
  stopAll(): Promise<void>;
  /** Starts what stopAll stopped, with its data, on the same ports; waits until it serves. */
  startAll(): Promise<void>;
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

  async stopAll(): Promise<void> {
    await nodeCommand(this.server.port, 'SAVE');
    await this.server.stop();
  }

  startAll(): Promise<void> {
    return this.server.start();
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

  async stopAll(): Promise<void> {
    await Promise.all(
      this.cluster.runningPorts().map(async (port) => {
        await nodeCommand(port, 'SAVE');
        await this.cluster.stopNode(port);
      }),
    );
  }

  /** Every node again (each rejoins from its nodes.conf), until the cluster is ok. */
  async startAll(): Promise<void> {
    await Promise.all(this.cluster.ports.map((port) => this.cluster.startNode(port)));
    await this.cluster.waitForState('ok');
  }

  destroy(): Promise<void> {
    return this.cluster.destroy();
  }
}

/** A primary, replicas and sentinels (RedisSentinelGroup): `group` for failovers. */
export class SentinelBackend implements RedisBackend {
  readonly topology = 'sentinel';
  /** The data nodes stopAll stopped, the primary first: startAll brings that one back first. */
  private stopped: number[] = [];

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

  async stopAll(): Promise<void> {
    this.stopped = [await this.group.masterPort(), ...(await this.group.replicaPorts())];
    await Promise.all(
      this.stopped.map(async (port) => {
        await nodeCommand(port, 'SAVE');
        await this.group.stopNode(port);
      }),
    );
  }

  /**
   * The primary first, then its replicas (so that no sentinel promotes a replica meanwhile),
   * until the sentinels agree on it again.
   */
  async startAll(): Promise<void> {
    const [master, ...replicas] = this.stopped;
    if (master === undefined) return;
    await this.group.startNode(master);
    for (const port of replicas) await this.group.startNode(port);
    await this.group.waitUntilSettled(master);
    this.stopped = [];
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

/** Runs `each` on a fresh plain client of every node `clients` gives, then quits them. */
async function onEachNode<T>(
  clients: Promise<Redis[]>,
  each: (node: Redis) => Promise<T>,
): Promise<T[]> {
  const nodes = await clients;
  try {
    return await Promise.all(nodes.map(each));
  } finally {
    for (const node of nodes) node.disconnect();
  }
}

/** Bytes the primaries have sent their clients so far (INFO stats), summed. */
export async function outputBytes(backend: RedisBackend): Promise<number> {
  const counts = await onEachNode(backend.primaryClients(), async (node) =>
    Number(/total_net_output_bytes:(\d+)/.exec(await node.info('stats'))?.[1]),
  );
  return counts.reduce((sum, count) => sum + count, 0);
}

/**
 * Closes the service's subscriber connections (plain and sharded pub/sub) on every node, as a
 * network fault would; other subscribers, such as sentinels, keep theirs. Returns how many it
 * closed.
 */
export async function killSubscriberConnections(backend: RedisBackend): Promise<number> {
  const killed = await onEachNode(backend.nodeClients(), async (node) => {
    const list = String(await node.call('CLIENT', 'LIST', 'TYPE', 'pubsub'));
    const ids = list
      .split('\n')
      // On Cluster, ioredis names them ioredis-cluster(subscriber):mailbox-subscriber and
      // ioredis-cluster(ssubscriber):mailbox-subscriber.
      .filter((line) => / name=(\S*:)?mailbox-subscriber /.test(line))
      .map((line) => /^id=(\d+) /.exec(line)?.[1])
      .filter((id): id is string => id !== undefined);
    for (const id of ids) await node.call('CLIENT', 'KILL', 'ID', id);
    return ids.length;
  });
  return killed.reduce((sum, count) => sum + count, 0);
}
