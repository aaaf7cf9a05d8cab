/**
 * Load generator for the ingress scenarios, in its own process: `connections` keep-alive
 * HTTP/1.1 connections, each sending the same request again as soon as the last answered,
 * for each phase in turn. Counts what each response acknowledges, for the exactly-once check.
 */
import { runAsChild } from '../lib/child-runtime';
import { readSendResponse } from '../lib/graphql';
import { buildPost, HttpConnection } from '../lib/http-connection';
import { runPhases, sendPhase } from '../lib/send-phase';
import type { LatencySummary } from '../lib/stats';

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
  /** The bearer token every request carries: the admin's unless given (an agent's own). */
  token?: string;
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

runAsChild<HttpLoadRequest, HttpLoadPhaseResult[]>(async (request, parent) => {
  const connections = Array.from(
    { length: request.connections },
    () => new HttpConnection(request.host, request.port),
  );
  const results = await runPhases(request.phases, parent, (phase) => {
    const raw = buildPost(request.host, request.port, '/graphql', phase.body, request.token);
    return sendPhase(phase, {
      lanes: connections,
      send: (connection) => connection.requestWithin(raw, request.requestTimeoutMs),
      read: (response) =>
        readSendResponse(response.status, response.body, phase.messagesPerRequest),
      // No answer: whether the server stored the message is unknown; a timeout ends the lane.
      unanswered: (connection, error) => {
        connection.close();
        return error.message === 'timeout';
      },
    });
  });
  for (const connection of connections) connection.close();
  return results;
});
