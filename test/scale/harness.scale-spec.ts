import type { Redis } from 'ioredis';
import {
  ClusterBackend,
  type RedisBackend,
  SentinelBackend,
  StandaloneBackend,
  testTopology,
} from '../utils/redis-backend';
import { RedisCluster, waitUntil } from '../utils/redis-cluster';
import { keysUnder, subscriberCount } from '../utils/service';

/** Subscribers of `channel` over every node, counted through a fresh client of the backend. */
async function channelSubscribers(backend: RedisBackend, channel: string): Promise<number> {
  const client = backend.client();
  try {
    return await subscriberCount(client, channel);
  } finally {
    client.disconnect();
  }
}

/** Keys under `prefix` on every primary, sorted, through a fresh client of the backend. */
async function keysWithPrefix(backend: RedisBackend, prefix: string): Promise<string[]> {
  const client = backend.client();
  try {
    return (await keysUnder(client, prefix)).sort();
  } finally {
    client.disconnect();
  }
}

// The scale harness itself: the Cluster and Sentinel topologies start as described, keys are
// spread over the primaries, data survives a node restart and a failover, and the subscriber
// counts and key scans see what Redis holds.

jest.setTimeout(60_000);

/** Waits until channelSubscribers() reports `expected` (subscriptions land asynchronously). */
async function expectSubscribers(
  backend: RedisBackend,
  channel: string,
  expected: number,
): Promise<void> {
  await waitUntil(
    `${expected} subscribers of ${channel}`,
    async () => {
      const count = await channelSubscribers(backend, channel);
      return count === expected ? undefined : `${count} subscribers`;
    },
    5_000,
  );
}

describe('testTopology', () => {
  const saved = process.env.TEST_REDIS_TOPOLOGY;
  afterEach(() => {
    if (saved === undefined) delete process.env.TEST_REDIS_TOPOLOGY;
    else process.env.TEST_REDIS_TOPOLOGY = saved;
  });

  it('defaults to standalone and rejects unknown topologies', () => {
    delete process.env.TEST_REDIS_TOPOLOGY;
    expect(testTopology()).toBe('standalone');
    process.env.TEST_REDIS_TOPOLOGY = 'cluster';
    expect(testTopology()).toBe('cluster');
    process.env.TEST_REDIS_TOPOLOGY = 'mesh';
    expect(() => testTopology()).toThrow(/mesh/);
  });
});

describe('Redis Cluster backend (3 primaries)', () => {
  let backend: ClusterBackend;

  beforeAll(async () => {
    backend = await ClusterBackend.start();
  });
  afterAll(async () => {
    await backend?.destroy();
  });

  it('spreads 1,000 mailbox keys over the three primaries', async () => {
    const { cluster } = backend;
    expect(backend.environment.REDIS_CLUSTER_NODES.split(',')).toHaveLength(3);
    const primaries = await cluster.primaryPorts();
    expect(primaries).toHaveLength(3);

    const client = cluster.client();
    const keys = Array.from({ length: 1000 }, (_, i) => `m:{mailbox-${i}}:x`);
    try {
      await Promise.all(keys.map((key, i) => client.set(key, String(i))));
    } finally {
      await client.quit();
    }

    const nodes = await backend.primaryClients();
    try {
      const sizes = await Promise.all(nodes.map((node) => node.dbsize()));
      for (const size of sizes) expect(size).toBeGreaterThan(0);
      expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(1000);

      // A plain client only answers for its own slots (MOVED otherwise): count keys per slot.
      for (const key of keys.filter((_, i) => i % 97 === 0)) {
        const slot = Number(await nodes[0].call('CLUSTER', 'KEYSLOT', key));
        const counts = await Promise.all(
          nodes.map(async (node) => Number(await node.call('CLUSTER', 'COUNTKEYSINSLOT', slot))),
        );
        const holder = counts.findIndex((count) => count > 0);
        expect(counts.filter((count) => count > 0)).toHaveLength(1);
        const owner = await cluster.slotOwnerPort(key);
        expect(primaries[holder]).toBe(owner);
        expect(await nodes[holder].exists(key)).toBe(1);
      }
    } finally {
      for (const node of nodes) node.disconnect();
    }
    expect(await keysWithPrefix(backend, 'm:{mailbox-')).toHaveLength(1000);
    expect(await keysWithPrefix(backend, 'm:{mailbox-12}')).toEqual(['m:{mailbox-12}:x']);
  });

  it('counts an SSUBSCRIBE on the slot owner and a SUBSCRIBE on any node', async () => {
    const { cluster } = backend;
    const channel = 'mailbox:{harness}:events';
    const owner = await cluster.slotOwnerPort(channel);
    const other = (await cluster.primaryPorts()).find((port) => port !== owner)!;
    await expectSubscribers(backend, channel, 0);

    const sharded = cluster.nodeClient(owner);
    const plain = cluster.nodeClient(other);
    try {
      await sharded.ssubscribe(channel);
      await expectSubscribers(backend, channel, 1);
      await plain.subscribe(channel);
      await expectSubscribers(backend, channel, 2);
    } finally {
      sharded.disconnect();
      plain.disconnect();
    }
    await expectSubscribers(backend, channel, 0);
  });
});

describe('Redis Cluster with appendonly', () => {
  let cluster: RedisCluster;

  beforeAll(async () => {
    cluster = await RedisCluster.start({ appendonly: true });
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it("keeps a key across a restart of the key's primary", async () => {
    const key = 'm:{restart}:x';
    const client = cluster.client();
    try {
      await client.set(key, 'kept');
      const owner = await cluster.slotOwnerPort(key);
      await cluster.stopNode(owner);
      expect(cluster.runningPorts()).not.toContain(owner);
      await cluster.startNode(owner);
      await cluster.waitForState('ok');
      expect(await cluster.primaryPorts()).toContain(owner);
      expect(await client.get(key)).toBe('kept');
    } finally {
      client.disconnect();
    }
  });
});

describe('Redis Sentinel backend (1 replica, 3 sentinels)', () => {
  let backend: SentinelBackend;

  beforeAll(async () => {
    backend = await SentinelBackend.start();
  });
  afterAll(async () => {
    await backend?.destroy();
  });

  it('keeps a value written before a failover, under the new primary', async () => {
    const { group } = backend;
    expect(backend.environment).toEqual({
      REDIS_SENTINELS: group.sentinels,
      REDIS_SENTINEL_MASTER: 'mymaster',
    });
    expect(group.sentinels.split(',')).toHaveLength(3);
    const before = await group.masterPort();

    const writer = group.client();
    try {
      await writer.set('harness:failover', 'survives');
    } finally {
      await writer.quit();
    }

    const { from, to } = await group.failover();
    expect(from).toBe(before);
    expect(to).not.toBe(before);
    expect(await group.masterPort()).toBe(to);

    const reader: Redis = group.client();
    try {
      expect(await reader.get('harness:failover')).toBe('survives');
      expect(await reader.call('ROLE')).toEqual(expect.arrayContaining(['master']));
    } finally {
      await reader.quit();
    }
    expect(await keysWithPrefix(backend, 'harness:')).toEqual(['harness:failover']);
  });
});

describe('standalone backend', () => {
  let backend: StandaloneBackend;

  beforeAll(async () => {
    backend = await StandaloneBackend.start();
  });
  afterAll(async () => {
    await backend?.destroy();
  });

  it('counts a SUBSCRIBE and finds keys by prefix', async () => {
    expect(backend.environment).toEqual({ REDIS_URL: backend.server.url });
    const channel = 'mailbox:harness:events';
    const subscriber = backend.client();
    try {
      await subscriber.subscribe(channel);
      await expectSubscribers(backend, channel, 1);
    } finally {
      subscriber.disconnect();
    }
    await expectSubscribers(backend, channel, 0);

    const client = backend.client();
    try {
      await client.set('harness:a*b', '1');
      await client.set('harness:aXb', '1');
    } finally {
      await client.quit();
    }
    expect(await keysWithPrefix(backend, 'harness:a*')).toEqual(['harness:a*b']);
  });
});
