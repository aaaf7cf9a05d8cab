/**
 * i. send_message at saturation over MCP, in its own process: one connected SDK client per
 * sender (its own mailbox token), each making the next call as soon as the last answered,
 * for each phase in turn. Answers in the same shape as http-load.ts, so that MCP and its
 * GraphQL baseline are merged and checked alike.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { runAsChild } from '../lib/child-runtime';
import { padded } from '../lib/bodies';
import { forEachLimited } from '../lib/live-feed';
import { runPhases, sendPhase } from '../lib/send-phase';
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

runAsChild<McpSendRequest, HttpLoadPhaseResult[]>(async (request, parent) => {
  const clients: Client[] = [];
  try {
    await forEachLimited(request.senders, 8, async (sender) => {
      clients.push(await connectMcp(request.baseUrl, sender));
    });
    return await runPhases(request.phases, parent, (phase) => {
      const args = {
        to: phase.target,
        body: padded(`bench ${phase.target} `, request.contentBytes),
      };
      return sendPhase(phase, {
        lanes: clients,
        send: (client) => callTool(client, 'send_message', args, request.requestTimeoutMs),
        read: (answer) =>
          sendAcknowledged(answer)
            ? { acknowledged: 1, refused: 0, error: null }
            : { acknowledged: 0, refused: 1, error: errorText(answer) },
        // No answer (a timeout, a dropped connection): whether it was stored is unknown.
        unanswered: () => false,
      });
    });
  } finally {
    await closeAll(clients);
  }
});
