/**
 * Sends and subscribers for the end-to-end and fan-out scenarios, in one process of their
 * own (one clock for send and receipt times). Every subscriber has its own graphql-ws
 * WebSocket. Sends are sendMessage mutations, either paced (a fixed rate, round-robin over
 * the mailboxes) or at saturation (a fixed number in flight), over keep-alive HTTP
 * connections or, with `transport` graphql-ws, over a few WebSockets of their own
 * (lib/send-transports.ts). Each message's content starts with "m:<seq>:", which maps a
 * receipt back to its send.
 */
import type { Client } from 'graphql-ws';
import { performance } from 'node:perf_hooks';
import { padded } from '../lib/bodies';
import { directInput, type SendInput } from '../lib/graphql';
import { connectClient, forEachLimited, subscribeFeed } from '../lib/live-feed';
import {
  OpenLoop,
  receiverGrid,
  runLiveLoad,
  type LiveLoad as RunnableLoad,
  type Receiver,
} from '../lib/open-loop';
import {
  HttpSends,
  sendingLanes,
  WebSocketSends,
  type SendTransport,
  type SendTransportSpec,
} from '../lib/send-transports';
import type { LatencySummary } from '../lib/stats';

export type Sending =
  | { kind: 'paced'; perSecond: number; connections: number }
  | { kind: 'saturate'; inFlight: number };

export interface LiveLoadRequest {
  host: string;
  port: number;
  wsUrl: string;
  mailboxes: string[];
  subscribersPerMailbox: number;
  sending: Sending;
  /** What carries the sends; HTTP when absent. */
  transport?: SendTransportSpec;
  contentBytes: number;
  warmupMs: number;
  durationMs: number;
  /** How long to wait after the last send for deliveries still on their way. */
  drainTimeoutMs: number;
  /** Return the measured phase's latency samples too, for pooling several runs. */
  keepSamples?: boolean;
}

/** The measured phase's latency samples in milliseconds, in the order they came. */
export interface LiveLoadSamples {
  latency: number[];
  sendLatency: number[];
  scheduleLag: number[];
}

export interface ExactlyOnce {
  messagesAcknowledged: number;
  messagesRefused: number;
  messagesUnanswered: number;
  /** Acknowledged messages times the subscribers of their mailbox. */
  expectedDeliveries: number;
  deliveredOnce: number;
  missing: number;
  duplicates: number;
  misrouted: number;
  /** Deliveries of messages whose send was refused or unanswered. */
  unacknowledgedDelivered: number;
}

export interface LiveLoadResult {
  subscribers: number;
  /** From the first connection until every subscriber had received a probe message. */
  readyMs: number;
  windowMs: number;
  /** Sends acknowledged inside the measured window. */
  sendsInWindow: number;
  /** Sends of the measured phase acknowledged, whenever their answer came. */
  measuredAcknowledged: number;
  deliveriesInWindow: number;
  /** Send to receipt, for messages sent in the measured phase. */
  latency: LatencySummary;
  /** The sendMessage round trip, measured phase. */
  sendLatency: LatencySummary;
  /** Paced sending only: the most sends that waited for a free connection at once. */
  maxQueued: number;
  /** Paced sending only: sends never made because the backlog was full (server far behind). */
  skipped: number;
  /**
   * Paced sending only: how late each send went out against the schedule (timer granularity,
   * or waiting for a free connection when the server falls behind). Not part of `latency`.
   */
  scheduleLag: LatencySummary | null;
  exactlyOnce: ExactlyOnce;
  subscriptionErrors: string[];
  sendErrors: string[];
  /** With `keepSamples` only. */
  samples?: LiveLoadSamples;
}

const REQUEST_TIMEOUT_MS = 15_000;

/**
 * One run: the subscribers, and the sends over `transport`, one lane per HTTP connection or
 * per send in flight (`P` is an encoded send, `A` its answer).
 */
class LiveLoad<P, A> {
  private readonly subscribers: Receiver[][];
  private readonly clients: Client[] = [];
  private readonly lanes: number[];
  readonly loop: OpenLoop<number>;

  constructor(
    private readonly request: LiveLoadRequest,
    private readonly transport: SendTransport<P, A>,
  ) {
    this.subscribers = receiverGrid(request.mailboxes.length, request.subscribersPerMailbox);
    this.lanes = Array.from({ length: transport.lanes }, (_, lane) => lane);
    this.loop = new OpenLoop({
      request,
      lanes: this.lanes,
      send: (seq, phase, lane, dueAt) => this.send(seq, phase, lane, dueAt),
      receivers: this.subscribers,
    });
  }

  private receive(subscriber: Receiver, content: string): void {
    const now = performance.now();
    const seq = Number(content.slice(2, content.indexOf(':', 2)));
    if (content.startsWith('p:')) {
      subscriber.probed = true;
      return;
    }
    if (this.loop.target(seq) !== subscriber.target) {
      this.loop.misroute();
      return;
    }
    this.loop.delivered(seq, subscriber.counts, now);
  }

  /** A message of `contentBytes` to the `mailbox`-th mailbox, starting with `head`. */
  private input(mailbox: number, head: string): SendInput {
    return directInput(this.request.mailboxes[mailbox], padded(head, this.request.contentBytes));
  }

  /** Opens the sends' transport and every subscriber, then probes until each has a message. */
  async start(): Promise<number> {
    const started = performance.now();
    const { mailboxes, wsUrl } = this.request;
    const error = (reason: string): void => this.loop.receiverError(reason);
    await this.transport.open();
    await forEachLimited(this.subscribers.flat(), 20, async (subscriber) => {
      const client = await connectClient(wsUrl, error);
      this.clients.push(client);
      subscribeFeed(
        client,
        mailboxes[subscriber.target],
        (content) => this.receive(subscriber, content),
        error,
      );
    });
    return this.loop.probeUntilLive(
      started,
      // Each lane probes its share of the waiting mailboxes, one send at a time.
      (waiting) =>
        Promise.all(
          this.lanes.map(async (lane) => {
            for (let i = lane; i < waiting.length; i += this.lanes.length) {
              const payload = this.transport.encode(this.input(waiting[i], this.loop.probeHead()));
              const answer = await this.transport.request(lane, payload, REQUEST_TIMEOUT_MS);
              const outcome = this.transport.read(answer);
              if (outcome.error) throw new Error(`probe refused: ${outcome.error}`);
            }
          }),
        ),
      { failed: 'subscriptions failed', notLive: "mailboxes' subscribers still not live" },
    );
  }

  /** `dueAt`: when the pacing schedule wanted this send out (paced sending only). */
  private send(seq: number, phase: number, lane: number, dueAt: number | null): Promise<void> {
    const mailbox = seq % this.request.mailboxes.length;
    const payload = this.transport.encode(this.input(mailbox, `m:${seq}:`));
    return this.loop.attempt(
      seq,
      mailbox,
      phase,
      dueAt,
      () => this.transport.request(lane, payload, REQUEST_TIMEOUT_MS),
      (answer) => {
        const outcome = this.transport.read(answer);
        return outcome.acknowledged === 1 ? null : (outcome.error ?? 'refused');
      },
    );
  }

  result(readyMs: number): LiveLoadResult {
    return this.loop.result(readyMs);
  }

  async close(): Promise<void> {
    this.loop.closing = true;
    await this.transport.close();
    await Promise.all(
      this.clients.map(async (client) => {
        await client.dispose();
      }),
    );
  }
}

/** A load on the transport the request names: a lane per HTTP connection or send in flight. */
function createLoad(request: LiveLoadRequest): RunnableLoad<LiveLoadResult> {
  const lanes = sendingLanes(request.sending);
  const transport = request.transport ?? { kind: 'http' };
  if (transport.kind === 'graphql-ws')
    return new LiveLoad(request, new WebSocketSends(request.wsUrl, transport.sockets, lanes));
  return new LiveLoad(request, new HttpSends(request.host, request.port, lanes));
}

runLiveLoad<LiveLoadRequest, LiveLoadResult>(createLoad);
