import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/**
 * What the supervisor (the primary process of WORKERS > 1) and its workers tell each other:
 * environment variables set on each worker at fork, and the messages of the IPC channel Node's
 * cluster opens between them. Nothing here is configuration: a person never sets these.
 */
export const WORKER_ENVIRONMENT = {
  /** '1' when the supervisor generated ADMIN_TOKEN for its workers (none was configured). */
  generatedAdminToken: 'MAILBOX_WORKERS_GENERATED_ADMIN_TOKEN',
  /** '1' on a worker started in place of one that died (it says its own start-up failure). */
  replacement: 'MAILBOX_WORKERS_REPLACEMENT',
} as const;

/** A worker asks for the metrics of every worker (see clusterMetricsText). */
export interface MetricsRequest {
  type: 'mailbox:metrics-request';
  id: number;
}

/** The supervisor's answer: every worker's metrics, aggregated, or why it could not. */
export interface MetricsAnswer {
  type: 'mailbox:metrics-answer';
  id: number;
  text?: string;
  error?: string;
}

/** The supervisor asks a worker that listens for its own metrics, for one answer. */
export interface MetricsCollect {
  type: 'mailbox:metrics-collect';
  id: number;
}

/** A worker's own metrics (its registry's getMetricsAsJSON), for the collection `id`. */
export interface MetricsPart {
  type: 'mailbox:metrics-part';
  id: number;
  metrics: object[];
}

export function isMetricsCollect(message: unknown): message is MetricsCollect {
  return (message as MetricsCollect | null)?.type === 'mailbox:metrics-collect';
}

export function isMetricsPart(message: unknown): message is MetricsPart {
  return (
    (message as MetricsPart | null)?.type === 'mailbox:metrics-part' &&
    Array.isArray((message as MetricsPart).metrics)
  );
}

/** The most workers WORKERS may ask for, `auto` included. */
const MAX_WORKERS = 64;

/** Where cgroup v2 gives a container's CPU limit: `<quota> <period>` in µs, or `max <period>`. */
const CPU_MAX_FILE = '/sys/fs/cgroup/cpu.max';

/** The processes WORKERS asks for: its number, or for `auto` see autoWorkerCount. */
export function workerCount(setting: string): number {
  if (setting !== 'auto') return Number(setting);
  let cpuMax: string | null = null;
  try {
    cpuMax = readFileSync(CPU_MAX_FILE, 'utf8');
  } catch {
    // No cgroup v2 CPU controller here (not Linux, cgroup v1, the root cgroup): no quota.
  }
  return autoWorkerCount(availableParallelism(), cpuMax);
}

/**
 * `auto`: one worker per CPU core the process may use, at most MAX_WORKERS. The cores are
 * those Node sees (`availableParallelism`, the CPU affinity), capped by a container's CPU
 * quota when cgroup v2's cpu.max (`cpuMax`, the file's text) holds one, rounded up: Node 20
 * does not read the quota, so a pod limited to 2 CPUs on a 64-core node would otherwise start
 * 64 workers, each with its own heap, within the pod's memory limit.
 */
export function autoWorkerCount(parallelism: number, cpuMax: string | null): number {
  let cores = parallelism;
  const [quota, period] = (cpuMax ?? '').trim().split(/\s+/).map(Number);
  if (quota > 0 && period > 0) cores = Math.min(cores, Math.ceil(quota / period));
  return Math.max(1, Math.min(cores, MAX_WORKERS));
}

export function isMetricsRequest(message: unknown): message is MetricsRequest {
  return (message as MetricsRequest | null)?.type === 'mailbox:metrics-request';
}

export function isMetricsAnswer(message: unknown): message is MetricsAnswer {
  return (message as MetricsAnswer | null)?.type === 'mailbox:metrics-answer';
}
