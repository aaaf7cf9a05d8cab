/**
 * i. send_message at saturation over MCP, in its own process: one connected SDK client per
 * sender (its own mailbox token), each making the next call as soon as the last answered,
 * for each phase in turn. Answers in the same shape as http-load.ts, so that MCP and its
 * GraphQL baseline are merged and checked alike.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { performance } from 'node:perf_hooks';
import { runAsChild } from '../lib/child-runtime';
import { padded } from '../lib/graphql';
import { forEachLimited } from '../lib/live-feed';
import { LatencyRecorder } from '../lib/stats';
import type { HttpLoadPhaseResult } from './http-load';
import {
  callTool,
  closeAll,
  connectMcp,
  errorText,
  sendAcknowledged,
  type McpAgent,
} from './mcp-client';

export interface McpSendPhase {
  name: string;
  durationMs: number;
  /** The mailbox every send of the phase goes to. */
  target: string;
  keepSamples?: boolean;
}

export interface McpSendRequest {
  baseUrl: string;
  /** One SDK client each, all sending at once. */
  senders: McpAgent[];
  contentBytes: number;
  phases: McpSendPhase[];
  /** A call without an answer after this long is abandoned (and counted as unknown). */
  requestTimeoutMs: number;
}

async function runPhase(
  request: McpSendRequest,
  clients: Client[],
  phase: McpSendPhase,
): Promise<HttpLoadPhaseResult> {
  const args = { to: phase.target, body: padded(`bench ${phase.target} `, request.contentBytes) };
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
  const loop = async (client: Client): Promise<void> => {
    while (performance.now() < end) {
      const sent = performance.now();
      try {
        const answer = await callTool(client, 'send_message', args, request.requestTimeoutMs);
        const answered = performance.now();
        const acknowledged = sendAcknowledged(answer);
        if (acknowledged) result.messagesAcknowledged += 1;
        else {
          result.messagesRefused += 1;
          result.requestsFailed += 1;
          if (errors.length < 5) errors.push(errorText(answer));
        }
        if (answered <= end) {
          latency.record(answered - sent);
          result.requestsInWindow += 1;
          if (acknowledged) result.messagesInWindow += 1;
        }
      } catch (error) {
        // No answer (a timeout, a dropped connection): whether it was stored is unknown.
        result.requestsUnknown += 1;
        if (errors.length < 5) errors.push((error as Error).message);
      }
    }
  };
  await Promise.all(clients.map(loop));
  result.latency = latency.summary();
  if (phase.keepSamples) result.samples = latency.samples();
  return result;
}

runAsChild<McpSendRequest, HttpLoadPhaseResult[]>(async (request, parent) => {
  const clients: Client[] = [];
  try {
    await forEachLimited(request.senders, 8, async (sender) => {
      clients.push(await connectMcp(request.baseUrl, sender));
    });
    const results: HttpLoadPhaseResult[] = [];
    for (const phase of request.phases) {
      // The runner samples CPU times at these marks (see runMeasuredChild).
      if (phase.name === 'measure') parent.send({ type: 'measure-start' });
      results.push(await runPhase(request, clients, phase));
      if (phase.name === 'measure') parent.send({ type: 'measure-end' });
    }
    return results;
  } finally {
    await closeAll(clients);
  }
});
