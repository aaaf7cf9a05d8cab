/**
 * Load generator for the ingress scenarios, in its own process: `connections` keep-alive
 * HTTP/1.1 connections, each sending the same request again as soon as the last answered,
 * for each phase in turn. Counts what each response acknowledges, for the exactly-once check.
 */
import { performance } from 'node:perf_hooks';
import { runAsChild } from '../lib/child-runtime';
import { readSendResponse } from '../lib/graphql';
import { buildPost, HttpConnection } from '../lib/http-connection';
import { LatencyRecorder, type LatencySummary } from '../lib/stats';

export interface HttpLoadPhase {
  name: string;
  durationMs: number;
  /** The JSON body of every request of the phase. */
  body: string;
  /** Messages each request sends (1 for sendMessage, the batch size for sendMessages). */
  messagesPerRequest: number;
  /** Return every latency sample too, for a caller that merges several phases. */
  keepSamples?: boolean;
}

export interface HttpLoadRequest {
  host: string;
  port: number;
  connections: number;
  phases: HttpLoadPhase[];
  /** A request without an answer after this long is abandoned (and counted as unknown). */
  requestTimeoutMs: number;
}

export interface HttpLoadPhaseResult {
  name: string;
  /** The measured window, in milliseconds. */
  windowMs: number;
  /** Requests answered inside the window (throughput counts these). */
  requestsInWindow: number;
  /** Messages acknowledged inside the window. */
  messagesInWindow: number;
  /** All messages acknowledged, including answers that came after the window closed. */
  messagesAcknowledged: number;
  messagesRefused: number;
  requestsFailed: number;
  /** Requests abandoned without an answer: their messages may or may not be stored. */
  requestsUnknown: number;
  latency: LatencySummary;
  /** Every latency in the window (ms), when the phase asked for them. */
  samples?: number[];
  errors: string[];
}

async function runPhase(
  request: HttpLoadRequest,
  connections: HttpConnection[],
  phase: HttpLoadPhase,
): Promise<HttpLoadPhaseResult> {
  const raw = buildPost(request.host, request.port, '/graphql', phase.body);
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
  const start = performance.now();
  const end = start + phase.durationMs;

  const loop = async (connection: HttpConnection): Promise<void> => {
    while (performance.now() < end) {
      const sent = performance.now();
      try {
        const response = await connection.requestWithin(raw, request.requestTimeoutMs);
        const answered = performance.now();
        const outcome = readSendResponse(response.status, response.body, phase.messagesPerRequest);
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
        // No answer: whether the server stored the message is unknown.
        connection.close();
        result.requestsUnknown += 1;
        if (errors.length < 5) errors.push((error as Error).message);
        if ((error as Error).message === 'timeout') return;
      }
    }
  };
  await Promise.all(connections.map(loop));
  result.latency = latency.summary();
  if (phase.keepSamples) result.samples = latency.samples();
  return result;
}

runAsChild<HttpLoadRequest, HttpLoadPhaseResult[]>(async (request, parent) => {
  const connections = Array.from(
    { length: request.connections },
    () => new HttpConnection(request.host, request.port),
  );
  const results: HttpLoadPhaseResult[] = [];
  for (const phase of request.phases) {
    // The runner samples CPU times at these marks (see runMeasuredChild).
    if (phase.name === 'measure') parent.send({ type: 'measure-start' });
    results.push(await runPhase(request, connections, phase));
    if (phase.name === 'measure') parent.send({ type: 'measure-end' });
  }
  for (const connection of connections) connection.close();
  return results;
});
