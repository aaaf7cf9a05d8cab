import { performance } from 'node:perf_hooks';
import { LatencyRecorder, type LatencySummary } from '../lib/stats';

export interface ClosedLoopResult {
  name: string;
  windowMs: number;
  /** Operations that succeeded inside the window. */
  okInWindow: number;
  /** All operations that succeeded, including those that finished after the window. */
  ok: number;
  failed: number;
  latency: LatencySummary;
  errors: string[];
}

/**
 * Keeps `inFlight` operations running for `durationMs`: each worker starts the next one as
 * soon as its last one settles. `operation` resolves true for a success.
 */
export async function closedLoop(
  name: string,
  inFlight: number,
  durationMs: number,
  operation: () => Promise<boolean>,
): Promise<ClosedLoopResult> {
  const latency = new LatencyRecorder();
  const result: ClosedLoopResult = {
    name,
    windowMs: durationMs,
    okInWindow: 0,
    ok: 0,
    failed: 0,
    latency: latency.summary(),
    errors: [],
  };
  const end = performance.now() + durationMs;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const started = performance.now();
      let ok = false;
      try {
        ok = await operation();
      } catch (error) {
        if (result.errors.length < 5) result.errors.push((error as Error).message);
      }
      const finished = performance.now();
      if (!ok) {
        result.failed += 1;
        continue;
      }
      result.ok += 1;
      if (finished <= end) {
        result.okInWindow += 1;
        latency.record(finished - started);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  result.latency = latency.summary();
  return result;
}
