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

/** The processes WORKERS asks for: its number, or one per CPU core for `auto`. */
export function workerCount(setting: string): number {
  return setting === 'auto' ? availableParallelism() : Number(setting);
}

export function isMetricsRequest(message: unknown): message is MetricsRequest {
  return (message as MetricsRequest | null)?.type === 'mailbox:metrics-request';
}

export function isMetricsAnswer(message: unknown): message is MetricsAnswer {
  return (message as MetricsAnswer | null)?.type === 'mailbox:metrics-answer';
}
