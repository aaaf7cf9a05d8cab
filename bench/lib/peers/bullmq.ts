/**
 * BullMQ as a peer, on a redis-server of its own with the service's durability (AOF fsynced
 * every second, lib/peers/aof-redis.ts): `queue.add` and `queue.addBulk` resolve once Redis
 * has run the job's script (written to the AOF, fsynced within about a second). Queues keep
 * BullMQ's defaults (prefix `bull`, one attempt per job). BullMQ has no fan-out: a job goes
 * to one worker of its queue.
 */
import { Queue, Worker } from 'bullmq';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { REPO_DIR } from '../children';
import { forEachLimited } from '../live-feed';
import type { IngressClient, LiveClient, LiveTopology, PeerAdmin } from './peers';

interface JobData {
  content: string;
}

export interface RedisAddress {
  host: string;
  port: number;
}

/** The queue of target `t`. */
export const bullQueue = (base: string, t: number): string => `${base}-t${t}`;

/** One connection for a sender's queues, as an application adding jobs would share it. */
function sharedConnection(redis: RedisAddress): Redis {
  const client = new Redis({ ...redis, maxRetriesPerRequest: null });
  client.on('error', () => undefined);
  return client;
}

function queueOn(name: string, connection: Redis | RedisAddress): Queue<JobData> {
  const queue = new Queue<JobData>(name, { connection });
  queue.on('error', () => undefined);
  return queue;
}

/** Queues by name, each opened on `connection` when first asked for. */
function queuesOn(connection: Redis | RedisAddress): {
  queue: (name: string) => Queue<JobData>;
  closeAll: () => Promise<void>;
} {
  const opened = new Map<string, Queue<JobData>>();
  return {
    queue: (name) => {
      let found = opened.get(name);
      if (!found) {
        found = queueOn(name, connection);
        opened.set(name, found);
      }
      return found;
    },
    closeAll: async () => {
      for (const found of opened.values()) await found.close();
    },
  };
}

/** w1: every lane awaits its `queue.add`; w2: a batch is one `queue.addBulk`. */
export async function bullIngress(redis: RedisAddress, body: string): Promise<IngressClient> {
  const connection = sharedConnection(redis);
  const { queue, closeAll } = queuesOn(connection);
  await connection.ping();
  const data: JobData = { content: body };
  return {
    async send(_lane, store, count) {
      if (count === 1) {
        const job = await queue(store).add('message', data);
        return job.id ? 1 : 0;
      }
      const jobs = await queue(store).addBulk(
        Array.from({ length: count }, () => ({ name: 'message', data })),
      );
      return jobs.filter((job) => job.id).length;
    },
    async close() {
      await closeAll();
      connection.disconnect();
    },
  };
}

/**
 * w3: a queue per receiver with one Worker on it (concurrency 1, its own connections), so a
 * job reaches the one receiver it was added for, as a message reaches its mailbox's
 * subscriber (one queue with 100 workers would hand each job to whichever worker is free).
 * Jobs are removed once their worker completes them (`removeOnComplete`), the analogue of an
 * acknowledgement. The sender adds through one shared connection.
 */
export function bullLive(redis: RedisAddress, topology: LiveTopology): LiveClient {
  const { base, targets, receiversPerTarget } = topology;
  if (receiversPerTarget !== 1) throw new Error('BullMQ has no fan-out: one receiver per target');
  const workers: Worker<JobData>[] = [];
  const queues: Queue<JobData>[] = [];
  let connection: Redis | null = null;
  let closing = false;
  return {
    async open(deliver, fail) {
      connection = sharedConnection(redis);
      for (let t = 0; t < targets; t++) queues.push(queueOn(bullQueue(base, t), connection));
      await Promise.all(queues.map((queue) => queue.waitUntilReady()));
      const indexes = Array.from({ length: targets }, (_, t) => t);
      await forEachLimited(indexes, 20, async (t) => {
        const worker = new Worker<JobData>(
          bullQueue(base, t),
          (job) => {
            deliver(t, 0, job.data.content.slice(0, 32));
            return Promise.resolve();
          },
          { connection: { ...redis, maxRetriesPerRequest: null }, concurrency: 1 },
        );
        worker.on('error', (error) => {
          if (!closing) fail(`BullMQ worker ${t}: ${error.message}`);
        });
        worker.on('failed', (_job, error) => fail(`BullMQ job failed on ${t}: ${error.message}`));
        workers.push(worker);
        await worker.waitUntilReady();
      });
    },
    async send(target, body) {
      const job = await queues[target].add(
        'message',
        { content: body },
        { removeOnComplete: true },
      );
      return !!job.id;
    },
    async close() {
      closing = true;
      await Promise.all(workers.map((worker) => worker.close()));
      for (const queue of queues) {
        await queue.obliterate({ force: true });
        await queue.close();
      }
      connection?.disconnect();
    },
  };
}

function bullVersion(): string {
  try {
    const file = join(REPO_DIR, 'node_modules', 'bullmq', 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The runner's queues: counts the w1/w2 jobs, obliterates whatever a run made. */
export async function bullAdmin(redis: RedisAddress, redisVersion: string): Promise<PeerAdmin> {
  const { queue, closeAll } = queuesOn(redis);
  const probe = queue('bench-w-probe');
  await probe.waitUntilReady();
  return {
    id: 'bullmq',
    version: `BullMQ ${bullVersion()} (Redis ${redisVersion}, AOF everysec)`,
    async prepareStores(names) {
      // A BullMQ queue exists once a job is added; nothing to declare.
      await Promise.all(names.map((name) => queue(name).waitUntilReady()));
    },
    async stored(name) {
      const counts = await queue(name).getJobCounts();
      const count = Object.values(counts).reduce((sum, value) => sum + value, 0);
      return { count, source: `jobs in any state, getJobCounts of queue ${name}` };
    },
    async removeStores(names) {
      for (const name of names) await queue(name).obliterate({ force: true });
    },
    async removeLive(topology) {
      for (let t = 0; t < topology.targets; t++)
        await queue(bullQueue(topology.base, t)).obliterate({ force: true });
    },
    async close() {
      await closeAll();
    },
  };
}
