import { Cluster } from 'ioredis';
import type { AppConfigService } from '../config/app-config.service';
import type { ScriptedClient } from './redis-scripts';
import { RedisTopology } from './redis-topology.service';

type Reply = Array<string | number>;

/** A node that answers PUBSUB NUMSUB / SHARDNUMSUB with `counts`, or fails. */
function node(counts: Record<string, number> | Error) {
  const asked: string[] = [];
  return {
    asked,
    on: () => undefined,
    call: (_pubsub: string, kind: string, ...channels: string[]): Promise<Reply> => {
      asked.push(kind);
      if (counts instanceof Error) return Promise.reject(counts);
      return Promise.resolve(channels.flatMap((channel) => [channel, counts[channel] ?? 0]));
    },
  };
}

/** A Cluster stand-in: `instanceof Cluster` holds, and only `nodes` and `on` are used. */
function cluster(
  masters: Array<ReturnType<typeof node>>,
  replicas: Array<ReturnType<typeof node>>,
) {
  const client = Object.create(Cluster.prototype) as Cluster;
  Object.assign(client, {
    on: () => client,
    nodes: (role: 'all' | 'master' | 'slave') =>
      role === 'master' ? masters : role === 'slave' ? replicas : [...masters, ...replicas],
  });
  return client as unknown as ScriptedClient;
}

const config = {
  redis: {
    clusterNodes: [{ host: 'r1', port: 7000 }],
    sentinels: [],
    waitReplicas: 0,
    waitTimeoutMs: 1000,
  },
} as unknown as AppConfigService;

describe('RedisTopology.subscriberCounts on Cluster', () => {
  it("sums a shard channel's subscribers over the primaries only, and a plain channel's over the nodes that answer", async () => {
    const first = node({ 'mailbox:{a}:feed': 1, plain: 1 });
    const second = node({ 'mailbox:{a}:feed': 1 });
    const gone = node(new Error('Connection is closed.'));
    const topology = new RedisTopology(config, cluster([first, second], [gone]));

    expect(await topology.subscriberCounts(['mailbox:{a}:feed', 'plain'])).toEqual([2, 1]);
    // The replica holds no shard subscriber (ioredis keeps one per primary): never asked.
    expect(gone.asked).toEqual(['NUMSUB']);
  });

  it('fails a count that a primary could not give', async () => {
    const down = node(new Error('Connection is closed.'));
    const topology = new RedisTopology(config, cluster([node({}), down], []));
    await expect(topology.subscriberCounts(['mailbox:{a}:feed'])).rejects.toThrow('closed');
  });
});
