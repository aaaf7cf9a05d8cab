/**
 * What every peer workload starts with: a fresh service on a Redis with an AOF fsynced every
 * second for each of the service's front doors (over HTTP, over graphql-ws), another such
 * Redis for BullMQ, and an admin connection to each reachable peer. A peer that cannot be
 * reached is skipped with a note.
 *
 * Each front door has a service and a Redis of its own, as each peer has its own storage: on
 * one shared Redis, the rounds of one would be measured on a store that also holds what the
 * other wrote, whose append-only file Redis then rewrites more often and at a greater cost.
 */
import { randomBytes } from 'node:crypto';
import type { BenchContext } from '../context';
import { registerMailboxes } from '../graphql';
import type { RedisServer } from '../redis-server';
import { ServiceProcess } from '../service';
import { startAofRedis } from './aof-redis';
import { peerAdmin } from './clients';
import {
  brokerPid,
  brokerUrls,
  isLocal,
  PEER_LABELS,
  shownUrl,
  type PeerAdmin,
  type PeerEndpoints,
  type PeerId,
} from './peers';
import type { ServiceFront, SystemId } from './rounds';

/** A service process and the Redis it runs on. */
export interface ServiceStack {
  service: ServiceProcess;
  redis: RedisServer;
}

export interface PeerEnvironment {
  /** Unique per scenario run: every queue, stream and BullMQ queue name carries it. */
  runId: string;
  fronts: Record<ServiceFront, ServiceStack>;
  endpoints: PeerEndpoints;
  /** The reachable peers, in the order measured. */
  admins: Map<PeerId, PeerAdmin>;
  /** Processes whose CPU each system's rounds sample (name to pid). */
  watch: Record<SystemId | ServiceFront, Record<string, number>>;
  /** Versions, durability settings, skipped peers. */
  notes: string[];
  /** The services' warnings since they became ready (call before stop). */
  problems(): string[];
  stop(): Promise<void>;
}

export async function startPeerEnvironment(
  context: BenchContext,
  mailboxes: string[],
  peers: readonly PeerId[],
): Promise<PeerEnvironment> {
  const runId = randomBytes(4).toString('hex');
  const stack: Array<() => Promise<void>> = [];
  const stop = async (): Promise<void> => {
    for (const step of stack.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    context.log('starting three redis-servers with appendonly yes, appendfsync everysec');
    const fronts = {} as Record<ServiceFront, ServiceStack>;
    for (const front of ['service', 'service-ws'] as const) {
      const redis = await startAofRedis();
      stack.push(() => redis.stop());
      context.log(`starting the service on its AOF Redis (${front})`);
      const service = await ServiceProcess.start(redis.url);
      stack.push(() => service.stop());
      await registerMailboxes(service.baseUrl, mailboxes);
      fronts[front] = { service, redis };
    }
    const bullRedis = await startAofRedis();
    stack.push(() => bullRedis.stop());
    const redisVersion = await fronts.service.redis.version();
    const { amqpUrl, natsUrl } = brokerUrls();
    const endpoints: PeerEndpoints = {
      amqpUrl,
      natsUrl,
      bullRedis: { host: '127.0.0.1', port: bullRedis.port },
    };
    const notes: string[] = [];
    const admins = new Map<PeerId, PeerAdmin>();
    const reached: string[] = [
      `service on Redis ${redisVersion} (AOF everysec; one of each for HTTP and graphql-ws)`,
    ];
    for (const peer of peers) {
      try {
        const admin = await peerAdmin(peer, endpoints, redisVersion);
        admins.set(peer, admin);
        stack.push(() => admin.close());
        reached.push(admin.version);
      } catch (error) {
        const where = peer === 'rabbitmq' ? amqpUrl : peer === 'jetstream' ? natsUrl : 'Redis';
        notes.push(
          `${PEER_LABELS[peer]} skipped: not reachable at ${shownUrl(where)} (${(error as Error).message.split('\n')[0]})`,
        );
      }
    }
    notes.unshift(`systems: ${reached.join('; ')}`);

    const stackPids = ({ service, redis }: ServiceStack): Record<string, number> => ({
      service: service.pid,
      redis: redis.pid,
    });
    const watch: Record<SystemId | ServiceFront, Record<string, number>> = {
      service: stackPids(fronts.service),
      'service-ws': stackPids(fronts['service-ws']),
      rabbitmq: {},
      jetstream: {},
      bullmq: { redis: bullRedis.pid },
    };
    const brokers: Array<[PeerId, string, string, string, string]> = [
      ['rabbitmq', amqpUrl, 'beam.smp', 'rabbit', 'rabbitmq'],
      ['jetstream', natsUrl, 'nats-server', '-js', 'nats-server'],
    ];
    for (const [peer, url, processName, hint, label] of brokers) {
      if (!admins.has(peer)) continue;
      const pid = isLocal(url) ? brokerPid(processName, hint) : null;
      if (pid !== null) watch[peer] = { [label]: pid };
      else notes.push(`${PEER_LABELS[peer]}: no local ${processName} process, its CPU is not read`);
    }
    return {
      runId,
      fronts,
      endpoints,
      admins,
      watch,
      notes,
      problems: () => [
        ...fronts.service.service.problemsSinceReady(),
        ...fronts['service-ws'].service.problemsSinceReady(),
      ],
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
