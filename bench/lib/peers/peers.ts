/**
 * What the peer workloads (w1..w4) share between the runner and their load generators: the
 * peers, where they are, and the interfaces each peer's module (rabbitmq.ts, jetstream.ts,
 * bullmq.ts) implements.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export type PeerId = 'rabbitmq' | 'jetstream' | 'bullmq';
export const PEER_IDS: readonly PeerId[] = ['rabbitmq', 'jetstream', 'bullmq'];
export const PEER_LABELS: Readonly<Record<PeerId, string>> = {
  rabbitmq: 'RabbitMQ',
  jetstream: 'JetStream',
  bullmq: 'BullMQ',
};

/** Where each peer is: the brokers from the environment, BullMQ's Redis started per scenario. */
export interface PeerEndpoints {
  amqpUrl: string;
  natsUrl: string;
  bullRedis: { host: string; port: number };
}

/** BENCH_AMQP_URL and BENCH_NATS_URL, or the local defaults. */
export function brokerUrls(): { amqpUrl: string; natsUrl: string } {
  return {
    amqpUrl: process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    natsUrl: process.env.BENCH_NATS_URL ?? 'nats://127.0.0.1:4222',
  };
}

/** The URL without its credentials, for notes. */
export function shownUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//');
}

/** Whether a broker URL points at this machine (so that its process's CPU can be read). */
export function isLocal(url: string): boolean {
  return /\/\/([^@/]*@)?(127\.0\.0\.1|localhost|\[::1\])(:|\/|$)/.test(url);
}

/**
 * The pid of a local broker process by its exact name (`beam.smp`, `nats-server`): with
 * several, the first whose command line holds `hint`, else the first; null when none.
 */
export function brokerPid(name: string, hint: string): number | null {
  let pids: number[];
  try {
    pids = execFileSync('pgrep', ['-x', name]).toString().split('\n').filter(Boolean).map(Number);
  } catch {
    return null; // pgrep exits 1 when nothing matches
  }
  const commandLine = (pid: number): string => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return '';
    }
  };
  return pids.find((pid) => commandLine(pid).includes(hint)) ?? pids[0] ?? null;
}

/** The head of a delivered body, enough to read its "m:<seq>:" or "p:<n>:" prefix. */
export function head(body: Uint8Array | string): string {
  if (typeof body === 'string') return body.slice(0, 32);
  return Buffer.from(body.buffer, body.byteOffset, Math.min(32, body.byteLength)).toString(
    'latin1',
  );
}

/** Rejects with `what` timed out when `promise` takes longer than `ms`. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** How long a peer's client library is given to connect. */
export const CONNECT_TIMEOUT_MS = 3_000;

/**
 * A client library's connection attempt, given CONNECT_TIMEOUT_MS: rejects a second after
 * that should the library's own timeout not fire.
 */
export function connectWithin<T>(connecting: Promise<T>, url: string): Promise<T> {
  return within(connecting, CONNECT_TIMEOUT_MS + 1_000, url);
}

/**
 * A load generator's sender for w1 and w2: `lanes` senders side by side, each with one send
 * (or one batch) awaiting its acknowledgement at a time.
 */
export interface IngressClient {
  /**
   * Sends `count` copies of the message to `store` (a queue, a stream's subject, a BullMQ
   * queue) on `lane`, as one send (`count` 1) or one batch; resolves with how many the peer
   * acknowledged as stored. Rejects when the outcome is unknown (no answer, connection lost).
   */
  send(lane: number, store: string, count: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * The receivers of w3 and w4: `targets` addresses (a queue, a subject, a BullMQ queue), each
 * with `receiversPerTarget` live consumers that all get every message sent to it (w3: 100
 * targets x 1; w4: 1 target x 100). Resource names start with `base`.
 */
export interface LiveTopology {
  base: string;
  targets: number;
  receiversPerTarget: number;
}

export interface LiveClient {
  /**
   * Creates the resources and starts every receiver; `deliver` gets each delivery's head
   * (the receiver acknowledges it to its peer right after).
   */
  open(
    deliver: (target: number, receiver: number, head: string) => void,
    fail: (error: string) => void,
  ): Promise<void>;
  /** Resolves true when the peer acknowledged the message, false when it refused it. */
  send(target: number, body: string): Promise<boolean>;
  /** Stops the receivers and senders and deletes the resources. */
  close(): Promise<void>;
}

/** The runner's view of a peer: setup, the exactly-once count, clean-up. */
export interface PeerAdmin {
  readonly id: PeerId;
  /** `RabbitMQ 3.10.8`, for notes. */
  readonly version: string;
  /** Creates the stores of w1 and w2 (no consumer: an offline mailbox). */
  prepareStores(names: string[]): Promise<void>;
  /** How many messages `name` holds, and where that number was read. */
  stored(name: string): Promise<{ count: number; source: string }>;
  removeStores(names: string[]): Promise<void>;
  /** Deletes whatever a live load with this topology created (if anything is left). */
  removeLive(topology: LiveTopology): Promise<void>;
  close(): Promise<void>;
}
