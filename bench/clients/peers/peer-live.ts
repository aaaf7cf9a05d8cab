/**
 * Sends and receivers for w3 and w4 against a peer (RabbitMQ, JetStream, BullMQ), in one
 * process of their own (one clock for send and receipt times): the peer's counterpart of
 * clients/live-load.ts, measured the same way and returning the same result. Every receiver
 * is a consumer on its own connection that acknowledges each delivery. Sends are paced (a
 * fixed rate, round-robin over the targets, at most `connections` awaiting their
 * acknowledgement, the rest waiting as live-load's do for a free connection) or at
 * saturation (`inFlight` awaiting acknowledgement). Each message's body starts with
 * "m:<seq>:", which maps a receipt back to its send. Latency: from just before the message
 * is handed to the client library to the receiver's callback.
 */
import { performance } from 'node:perf_hooks';
import { OpenLoop, receiverGrid, runLiveLoad, type Receiver } from '../../lib/open-loop';
import { liveClient } from '../../lib/peers/clients';
import { padded } from '../../lib/bodies';
import {
  within,
  type LiveClient,
  type LiveTopology,
  type PeerEndpoints,
  type PeerId,
} from '../../lib/peers/peers';
import { GrowableBytes } from '../../lib/stats';
import type { LiveLoadResult, Sending } from '../live-load';

export interface PeerLiveRequest {
  peer: PeerId;
  endpoints: PeerEndpoints;
  topology: LiveTopology;
  sending: Sending;
  /**
   * Saturated sending only: sends wait while this many messages are not yet received by
   * every receiver of their target, so that a peer acknowledging faster than it delivers
   * measures its delivery rate instead of growing a backlog without end.
   */
  maxUndelivered: number;
  contentBytes: number;
  warmupMs: number;
  durationMs: number;
  drainTimeoutMs: number;
  keepSamples?: boolean;
}

const REQUEST_TIMEOUT_MS = 15_000;

class PeerLiveLoad {
  private readonly byTarget: Receiver[][];
  private readonly client: LiveClient;
  readonly loop: OpenLoop<number>;
  /** Receivers that got each message at least once. */
  private readonly reached = new GrowableBytes();
  private readonly roomWaiters: Array<() => void> = [];
  /** Messages acknowledged and received by every receiver of their target, or failed. */
  private settled = 0;

  constructor(private readonly request: PeerLiveRequest) {
    const { topology, sending } = request;
    this.byTarget = receiverGrid(topology.targets, topology.receiversPerTarget);
    const slots = sending.kind === 'paced' ? sending.connections : sending.inFlight;
    this.client = liveClient(request.peer, request.endpoints, topology);
    this.loop = new OpenLoop({
      request,
      // The sends share one client: a lane is a slot for a send awaiting its acknowledgement.
      lanes: Array.from({ length: slots }, (_, slot) => slot),
      send: (seq, phase, _slot, dueAt) => this.send(seq, phase, dueAt),
      receivers: this.byTarget,
      room: (end) => this.room(end),
      answered: (seq, acknowledged) => {
        if (!acknowledged || this.reached.get(seq) === topology.receiversPerTarget) this.settle();
      },
    });
  }

  private settle(): void {
    this.settled += 1;
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private receive(target: number, index: number, head: string): void {
    const now = performance.now();
    const receiver = this.byTarget[target]?.[index];
    if (!receiver) {
      this.loop.misroute();
      return;
    }
    if (head.startsWith('p:')) {
      receiver.probed = true;
      return;
    }
    const seq = Number(head.slice(2, head.indexOf(':', 2)));
    if (!head.startsWith('m:') || this.loop.target(seq) !== target || seq >= this.loop.nextSeq) {
      this.loop.misroute();
      return;
    }
    if (this.loop.delivered(seq, receiver.counts, now) !== 1) return;
    const reached = this.reached.increment(seq);
    if (reached === this.request.topology.receiversPerTarget && this.loop.isAcknowledged(seq))
      this.settle();
  }

  /** Starts every receiver, then probes until each has received a message. */
  async start(): Promise<number> {
    const started = performance.now();
    await this.client.open(
      (target, receiver, head) => this.receive(target, receiver, head),
      (error) => this.loop.receiverError(error),
    );
    return this.loop.probeUntilLive(
      started,
      (waiting) =>
        Promise.all(
          waiting.map(async (target) => {
            const body = padded(this.loop.probeHead(), this.request.contentBytes);
            const ok = await within(this.client.send(target, body), REQUEST_TIMEOUT_MS, 'probe');
            if (!ok) throw new Error('probe refused');
          }),
        ),
      { failed: 'receivers failed', notLive: "targets' receivers still not live" },
    );
  }

  private send(seq: number, phase: number, dueAt: number | null): Promise<void> {
    const target = seq % this.request.topology.targets;
    const body = padded(`m:${seq}:`, this.request.contentBytes);
    return this.loop.attempt(
      seq,
      target,
      phase,
      dueAt,
      () => within(this.client.send(target, body), REQUEST_TIMEOUT_MS, 'send'),
      (ok) => (ok ? null : 'refused'),
    );
  }

  /** Waits until fewer than maxUndelivered messages are on their way, or `end` has passed. */
  private async room(end: number): Promise<void> {
    while (
      this.loop.nextSeq - this.settled >= this.request.maxUndelivered &&
      performance.now() < end
    )
      await new Promise<void>((resolve) => {
        this.roomWaiters.push(resolve);
        setTimeout(resolve, 50);
      });
  }

  result(readyMs: number): LiveLoadResult {
    return this.loop.result(readyMs);
  }

  async close(): Promise<void> {
    this.loop.closing = true;
    await this.client.close();
  }
}

runLiveLoad<PeerLiveRequest, LiveLoadResult>((request) => new PeerLiveLoad(request));
