/**
 * Load generator for w1 and w2 against the service over graphql-ws, in its own process: a
 * few WebSockets, as agents that already hold one for their feed, with `lanes` sends in
 * flight spread over them, each lane sending again as soon as its last mutation was answered
 * (graphql-ws answers a mutation with one `next`, then `complete`), for each phase in turn.
 * The WebSocket counterpart of clients/http-load.ts: the same request bodies, the same loop
 * (lib/send-phase.ts) and the same result, so the exactly-once check reads it alike.
 */
import { runAsChild } from '../lib/child-runtime';
import { runPhases, sendPhase } from '../lib/send-phase';
import {
  closeSockets,
  mutate,
  openSockets,
  readMutationResult,
  type Operation,
} from '../lib/ws-mutations';
import type { HttpLoadPhase, HttpLoadPhaseResult } from './http-load';

export interface WsSendRequest {
  /** ws://host:port/graphql */
  wsUrl: string;
  /** WebSockets opened (graphql-ws clients, each with the admin token); lanes share them. */
  sockets: number;
  /** Mutations awaiting their answer at once, over all the sockets. */
  lanes: number;
  /** A mutation without an answer after this long is abandoned (and counted as unknown). */
  requestTimeoutMs: number;
  /** As http-load's: `body` is the JSON of the operation, sent as graphql-ws' payload. */
  phases: HttpLoadPhase[];
}

runAsChild<WsSendRequest, HttpLoadPhaseResult[]>(async (request, parent) => {
  const clients = await openSockets(request.wsUrl, request.sockets);
  try {
    return await runPhases(request.phases, parent, (phase) => {
      const operation = JSON.parse(phase.body) as Operation;
      return sendPhase(phase, {
        // Lane i on socket i mod sockets: the sends in flight spread evenly.
        lanes: Array.from({ length: request.lanes }, (_, index) => clients[index % clients.length]),
        send: (client) => mutate(client, operation, request.requestTimeoutMs),
        read: (result) => readMutationResult(result, phase.messagesPerRequest),
        // No answer: whether the service stored the message is unknown; the lane stops.
        unanswered: () => true,
      });
    });
  } finally {
    await closeSockets(clients);
  }
});
