import type { ExactlyOnce, LiveLoadRequest, LiveLoadResult } from '../clients/live-load';
import { pooledCpu, runMeasuredChild, type Measured } from '../lib/children';
import type { BenchContext } from '../lib/context';
import type { Check } from '../lib/report';
import { LatencyRecorder } from '../lib/stats';

/** Message content size for the live scenarios (d, e): small, as agents' notes often are. */
export const LIVE_CONTENT_BYTES = 256;

const n = (value: number): string => value.toLocaleString('en-US');

/** Measured rounds per server in the live scenarios; the measured time is split evenly. */
export const LIVE_ROUNDS = 2;
/** The warm-up of every round after a server's first, whose warm-up is the run's. */
const LATER_WARMUP_MS = 1_000;

type LiveSetup = Pick<LiveLoadRequest, 'mailboxes' | 'subscribersPerMailbox' | 'sending'>;

/** A server under live load, and the processes whose CPU is sampled while it is measured. */
export interface LiveTarget {
  port: number;
  wsUrl: string;
  watch: Record<string, number>;
}

/**
 * The live load (bench/clients/live-load.ts) on each target in turn, LIVE_ROUNDS times, the
 * order swapped every round, so that a machine whose speed moves during the run weighs on
 * both alike. Each round is a run of its own: its subscribers connect, warm up, are measured
 * and are checked for exactly-once delivery. Returns each target's rounds pooled.
 */
export async function runLiveRounds<Name extends string>(
  context: BenchContext,
  targets: Record<Name, LiveTarget>,
  setup: LiveSetup,
): Promise<Record<Name, Measured<LiveLoadResult>>> {
  const names = Object.keys(targets) as Name[];
  const { warmupMs, durationMs } = context.options;
  const rounds = new Map<Name, Measured<LiveLoadResult>[]>(names.map((name) => [name, []]));
  for (let round = 0; round < LIVE_ROUNDS; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const target = targets[name];
      const request: LiveLoadRequest = {
        host: '127.0.0.1',
        port: target.port,
        wsUrl: target.wsUrl,
        contentBytes: LIVE_CONTENT_BYTES,
        warmupMs: round === 0 ? warmupMs : Math.min(warmupMs, LATER_WARMUP_MS),
        durationMs: Math.round(durationMs / LIVE_ROUNDS),
        drainTimeoutMs: 15_000,
        keepSamples: true,
        ...setup,
      };
      const run = await runMeasuredChild<LiveLoadResult>(
        'clients/live-load.ts',
        request,
        target.watch,
      );
      rounds.get(name)?.push(run);
    }
  }
  const pooled = {} as Record<Name, Measured<LiveLoadResult>>;
  for (const name of names) pooled[name] = poolLiveRuns(rounds.get(name) ?? []);
  return pooled;
}

export function liveTarget(
  server: { port: number; wsUrl: string },
  watch: Record<string, number>,
): LiveTarget {
  return { port: server.port, wsUrl: server.wsUrl, watch };
}

function total<T>(items: T[], of: (item: T) => number): number {
  return items.reduce((sum, item) => sum + of(item), 0);
}

/** Live results of several rounds as one: counts and windows added, latency samples pooled. */
export function poolLive(results: LiveLoadResult[]): LiveLoadResult {
  const pooled = (pick: (result: LiveLoadResult) => number[] | undefined): LatencyRecorder => {
    const recorder = new LatencyRecorder();
    for (const result of results) for (const value of pick(result) ?? []) recorder.record(value);
    return recorder;
  };
  const exactlyOnce = {} as ExactlyOnce;
  for (const key of Object.keys(results[0].exactlyOnce) as (keyof ExactlyOnce)[])
    exactlyOnce[key] = total(results, (result) => result.exactlyOnce[key]);
  const paced = results[0].scheduleLag !== null;
  return {
    subscribers: results[0].subscribers,
    readyMs: Math.max(...results.map((result) => result.readyMs)),
    windowMs: total(results, (result) => result.windowMs),
    sendsInWindow: total(results, (result) => result.sendsInWindow),
    measuredAcknowledged: total(results, (result) => result.measuredAcknowledged),
    deliveriesInWindow: total(results, (result) => result.deliveriesInWindow),
    latency: pooled((result) => result.samples?.latency).summary(),
    sendLatency: pooled((result) => result.samples?.sendLatency).summary(),
    maxQueued: Math.max(...results.map((result) => result.maxQueued)),
    skipped: total(results, (result) => result.skipped),
    scheduleLag: paced ? pooled((result) => result.samples?.scheduleLag).summary() : null,
    exactlyOnce,
    subscriptionErrors: results.flatMap((result) => result.subscriptionErrors),
    sendErrors: results.flatMap((result) => result.sendErrors).slice(0, 5),
  };
}

/** Measured live runs as one: their results pooled (poolLive), their CPU added. */
export function poolLiveRuns(runs: Measured<LiveLoadResult>[]): Measured<LiveLoadResult> {
  return { cpuMs: pooledCpu(runs), result: poolLive(runs.map((run) => run.result)) };
}

/** How the live scenarios measured: for the report's notes. */
export function roundsNote(result: LiveLoadResult): string {
  return `service and baseline measured in ${LIVE_ROUNDS} alternating rounds of ${(result.windowMs / LIVE_ROUNDS / 1000).toFixed(1)} s each, each round with subscribers of its own`;
}

/** Every acknowledged message reached each subscriber of its mailbox once, and nothing else came. */
export function deliveredExactlyOnce(scenario: string, who: string, result: LiveLoadResult): Check {
  const e: ExactlyOnce = result.exactlyOnce;
  const ok =
    e.messagesAcknowledged > 0 &&
    e.missing === 0 &&
    e.duplicates === 0 &&
    e.misrouted === 0 &&
    result.subscriptionErrors.length === 0;
  const parts = [
    `${n(e.messagesAcknowledged)} sends acknowledged`,
    `${n(e.deliveredOnce)} of ${n(e.expectedDeliveries)} deliveries arrived exactly once`,
    `${n(e.missing)} missing`,
    `${n(e.duplicates)} duplicated`,
    `${n(e.misrouted)} to the wrong subscriber`,
  ];
  if (e.messagesRefused + e.messagesUnanswered > 0)
    parts.push(`${n(e.messagesRefused)} refused, ${n(e.messagesUnanswered)} unanswered`);
  if (result.subscriptionErrors.length > 0)
    parts.push(`subscription errors: ${result.subscriptionErrors.slice(0, 3).join('; ')}`);
  return { scenario, name: `delivered exactly once (${who})`, ok, detail: parts.join(', ') };
}

/** Whether the paced sender kept to its schedule against this server. */
export function pacingNote(who: string, result: LiveLoadResult, perSecond: number): string {
  const lag = result.scheduleLag;
  if (!lag) return `${who}: not paced`;
  const behind = lag.p99 > 5;
  return (
    `${who}: ${n(perSecond)} sends/s scheduled, ${n(result.measuredAcknowledged)} acknowledged ` +
    `in the measured phase; sends left late by p50 ${lag.p50.toFixed(2)} ms, p99 ` +
    `${lag.p99.toFixed(2)} ms, up to ${n(result.maxQueued)} waiting for a connection` +
    (result.skipped > 0 ? `, ${n(result.skipped)} skipped (backlog full)` : '') +
    (behind ? ' (the server fell behind the pace: its latency is measured under overload)' : '')
  );
}
