/**
 * What every peer workload starts with: a Redis with an AOF fsynced every second for the
 * service and another for BullMQ, a fresh service on the first, and an admin connection to
 * each reachable peer. A peer that cannot be reached is skipped with a note.
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
import type { SystemId } from './rounds';

export interface PeerEnvironment {
  /** Unique per scenario run: every queue, stream and BullMQ queue name carries it. */
  runId: string;
  service: ServiceProcess;
  serviceRedis: RedisServer;
  endpoints: PeerEndpoints;
  /** The reachable peers, in the order measured. */
  admins: Map<PeerId, PeerAdmin>;
  /** Processes whose CPU each system's rounds sample (name to pid). */
  watch: Record<SystemId, Record<string, number>>;
  /** Versions, durability settings, skipped peers. */
  notes: string[];
  /** The service's warnings since it became ready (call before stop). */
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
    context.log('starting two redis-servers with appendonly yes, appendfsync everysec');
    const serviceRedis = await startAofRedis();
    stack.push(() => serviceRedis.stop());
    const bullRedis = await startAofRedis();
    stack.push(() => bullRedis.stop());
    const redisVersion = await serviceRedis.version();
    const { amqpUrl, natsUrl } = brokerUrls();
    const endpoints: PeerEndpoints = {
      amqpUrl,
      natsUrl,
      bullRedis: { host: '127.0.0.1', port: bullRedis.port },
    };
    context.log('starting the service on its AOF Redis');
    const service = await ServiceProcess.start(serviceRedis.url);
    stack.push(() => service.stop());
    await registerMailboxes(service.baseUrl, mailboxes);

    const notes: string[] = [];
    const admins = new Map<PeerId, PeerAdmin>();
    const reached: string[] = [`service on Redis ${redisVersion} (AOF everysec)`];
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

    const watch: Record<SystemId, Record<string, number>> = {
      service: { service: service.pid, redis: serviceRedis.pid },
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
      service,
      serviceRedis,
      endpoints,
      admins,
      watch,
      notes,
      problems: () => service.problemsSinceReady(),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
