/**
 * Load generator for w1 and w2 against a peer (RabbitMQ, JetStream, BullMQ), in its own
 * process: `lanes` senders side by side, each sending again as soon as its last send (w1)
 * or batch (w2) was acknowledged, for each phase in turn; the peer's counterpart of
 * clients/http-load.ts, whose result it returns. Counts what each acknowledgement covers,
 * for the exactly-once check.
 */
import { runAsChild } from '../../lib/child-runtime';
import { ingressClient } from '../../lib/peers/clients';
import { padded } from '../../lib/bodies';
import { within, type PeerEndpoints, type PeerId } from '../../lib/peers/peers';
import { runPhases, sendPhase } from '../../lib/send-phase';
import type { HttpLoadPhaseResult } from '../http-load';

export interface PeerIngressPhase {
  name: 'warmup' | 'measure';
  durationMs: number;
  /** The queue, stream subject or BullMQ queue the phase sends to. */
  store: string;
}

export interface PeerIngressRequest {
  peer: PeerId;
  endpoints: PeerEndpoints;
  /** Sends (or batches) awaiting their acknowledgement at once. */
  lanes: number;
  /** 1: single sends (w1); more: batches of this many (w2). */
  messagesPerSend: number;
  contentBytes: number;
  /** A send without an answer after this long is abandoned (and counted as unknown). */
  requestTimeoutMs: number;
  phases: PeerIngressPhase[];
}

runAsChild<PeerIngressRequest, HttpLoadPhaseResult[]>(async (request, parent) => {
  const body = padded(`bench w ${request.peer} `, request.contentBytes);
  const client = await ingressClient(
    request.peer,
    request.endpoints,
    request.lanes,
    body,
    request.messagesPerSend > 1,
  );
  const count = request.messagesPerSend;
  try {
    return await runPhases(request.phases, parent, (phase) =>
      sendPhase(
        { ...phase, keepSamples: true },
        {
          lanes: Array.from({ length: request.lanes }, (_, index) => index),
          send: (lane) =>
            within(client.send(lane, phase.store, count), request.requestTimeoutMs, 'send'),
          read: (acknowledged) => ({
            acknowledged,
            refused: count - acknowledged,
            error: acknowledged < count ? `${count - acknowledged} of ${count} refused` : null,
          }),
          // No answer: whether the peer stored the message(s) is unknown; the lane stops.
          unanswered: () => true,
        },
      ),
    );
  } finally {
    await client.close();
  }
});
