import type { ExactlyOnce, LiveLoadRequest, LiveLoadResult } from '../clients/live-load';
import { runMeasuredChild, type Measured } from '../lib/children';
import type { BenchContext } from '../lib/context';
import type { Check } from '../lib/report';

/** Message content size for the live scenarios (d, e): small, as agents' notes often are. */
export const LIVE_CONTENT_BYTES = 256;

const n = (value: number): string => value.toLocaleString('en-US');

/** Runs the live load (bench/clients/live-load.ts) against a server, watching `watch`'s CPU. */
export function runLiveLoad(
  context: BenchContext,
  target: { port: number; wsUrl: string },
  setup: Pick<LiveLoadRequest, 'mailboxes' | 'subscribersPerMailbox' | 'sending'>,
  watch: Record<string, number>,
): Promise<Measured<LiveLoadResult>> {
  const request: LiveLoadRequest = {
    host: '127.0.0.1',
    port: target.port,
    wsUrl: target.wsUrl,
    contentBytes: LIVE_CONTENT_BYTES,
    warmupMs: context.options.warmupMs,
    durationMs: context.options.durationMs,
    drainTimeoutMs: 15_000,
    ...setup,
  };
  return runMeasuredChild<LiveLoadResult>('clients/live-load.ts', request, watch);
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
