/**
 * The closed-loop send loads (clients/http-load.ts, clients/mcp-send.ts,
 * clients/peers/peer-ingress.ts): lanes side by side, each sending again as soon as its last
 * send was answered, for each phase in turn. Counts what each answer acknowledged, for the
 * throughput figures and the exactly-once check, in one result shape for all of them.
 */
import { performance } from 'node:perf_hooks';
import type { HttpLoadPhaseResult } from '../clients/http-load';
import type { ParentChannel } from './child-runtime';
import type { SendOutcome } from './graphql';
import { LatencyRecorder } from './stats';

export interface SendPhase {
  name: string;
  durationMs: number;
  /** Return every latency sample too, for a caller that merges several phases. */
  keepSamples?: boolean;
}

export interface SendLanes<L, T> {
  lanes: L[];
  /** One send on `lane`: a request, a tool call, a batch. */
  send(lane: L): Promise<T>;
  /** What the answer acknowledged and refused; read once the answer's time is taken. */
  read(answer: T): SendOutcome;
  /**
   * After a send that got no answer (its messages may or may not be stored): whether the
   * lane stops for the rest of the phase.
   */
  unanswered(lane: L, error: Error): boolean;
}

/** One phase: every lane sends again as soon as its last send was answered. */
export async function sendPhase<L, T>(
  phase: SendPhase,
  load: SendLanes<L, T>,
): Promise<HttpLoadPhaseResult> {
  const latency = new LatencyRecorder();
  const errors: string[] = [];
  const result: HttpLoadPhaseResult = {
    name: phase.name,
    windowMs: phase.durationMs,
    requestsInWindow: 0,
    messagesInWindow: 0,
    messagesAcknowledged: 0,
    messagesRefused: 0,
    requestsFailed: 0,
    requestsUnknown: 0,
    latency: latency.summary(),
    errors,
  };
  const end = performance.now() + phase.durationMs;
  const lane = async (on: L): Promise<void> => {
    while (performance.now() < end) {
      const sent = performance.now();
      try {
        const answer = await load.send(on);
        const answered = performance.now();
        const outcome = load.read(answer);
        result.messagesAcknowledged += outcome.acknowledged;
        result.messagesRefused += outcome.refused;
        if (outcome.error !== null) {
          result.requestsFailed += 1;
          if (errors.length < 5) errors.push(outcome.error);
        }
        if (answered <= end) {
          latency.record(answered - sent);
          result.requestsInWindow += 1;
          result.messagesInWindow += outcome.acknowledged;
        }
      } catch (error) {
        result.requestsUnknown += 1;
        if (errors.length < 5) errors.push((error as Error).message);
        if (load.unanswered(on, error as Error)) return;
      }
    }
  };
  await Promise.all(load.lanes.map(lane));
  result.latency = latency.summary();
  if (phase.keepSamples) result.samples = latency.samples();
  return result;
}

/** Runs `phases` in turn; the runner samples CPU times at the measured one's marks. */
export async function runPhases<P extends { name: string }>(
  phases: P[],
  parent: ParentChannel,
  run: (phase: P) => Promise<HttpLoadPhaseResult>,
): Promise<HttpLoadPhaseResult[]> {
  const results: HttpLoadPhaseResult[] = [];
  for (const phase of phases) {
    // See runMeasuredChild.
    if (phase.name === 'measure') parent.send({ type: 'measure-start' });
    results.push(await run(phase));
    if (phase.name === 'measure') parent.send({ type: 'measure-end' });
  }
  return results;
}
