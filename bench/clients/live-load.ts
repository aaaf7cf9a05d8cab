/**
 * Sends and subscribers for the end-to-end and fan-out scenarios, in one process of their
 * own (one clock for send and receipt times). Every subscriber has its own graphql-ws
 * WebSocket. Sends are sendMessage mutations over keep-alive HTTP connections, either paced
 * (a fixed rate, round-robin over the mailboxes) or at saturation (a fixed number in flight).
 * Each message's content starts with "m:<seq>:", which maps a receipt back to its send.
 */
import type { Client } from 'graphql-ws';
import { performance } from 'node:perf_hooks';
import { directInput, padded, readSendResponse, sendMessageBody } from '../lib/graphql';
import { buildPost, HttpConnection } from '../lib/http-connection';
import { connectClient, forEachLimited, subscribeFeed } from '../lib/live-feed';
import { OpenLoop, receiverGrid, runLiveLoad, type Receiver } from '../lib/open-loop';
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

class LiveLoad {
  private readonly subscribers: Receiver[][];
  private readonly clients: Client[] = [];
  private readonly pool: HttpConnection[];
  readonly loop: OpenLoop<HttpConnection>;

  constructor(private readonly request: LiveLoadRequest) {
    this.subscribers = receiverGrid(request.mailboxes.length, request.subscribersPerMailbox);
    const connections =
      request.sending.kind === 'paced' ? request.sending.connections : request.sending.inFlight;
    this.pool = Array.from(
      { length: connections },
      () => new HttpConnection(request.host, request.port),
    );
    this.loop = new OpenLoop({
      request,
      lanes: this.pool,
      send: (seq, phase, connection, dueAt) => this.send(seq, phase, connection, dueAt),
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

  /** Opens every subscriber, then probes until each has received a message. */
  async start(): Promise<number> {
    const started = performance.now();
    const { mailboxes, wsUrl } = this.request;
    const error = (reason: string): void => this.loop.receiverError(reason);
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
      // Each connection probes its share of the waiting mailboxes, one request at a time.
      (waiting) =>
        Promise.all(
          this.pool.map(async (connection, lane) => {
            for (let i = lane; i < waiting.length; i += this.pool.length) {
              const body = sendMessageBody(
                directInput(
                  mailboxes[waiting[i]],
                  padded(this.loop.probeHead(), this.request.contentBytes),
                ),
              );
              const raw = buildPost(this.request.host, this.request.port, '/graphql', body);
              const response = await connection.requestWithin(raw, REQUEST_TIMEOUT_MS);
              const outcome = readSendResponse(response.status, response.body, 1);
              if (outcome.error) throw new Error(`probe refused: ${outcome.error}`);
            }
          }),
        ),
      { failed: 'subscriptions failed', notLive: "mailboxes' subscribers still not live" },
    );
  }

  /** `dueAt`: when the pacing schedule wanted this send out (paced sending only). */
  private send(
    seq: number,
    phase: number,
    connection: HttpConnection,
    dueAt: number | null,
  ): Promise<void> {
    const mailbox = seq % this.request.mailboxes.length;
    const body = sendMessageBody(
      directInput(this.request.mailboxes[mailbox], padded(`m:${seq}:`, this.request.contentBytes)),
    );
    const raw = buildPost(this.request.host, this.request.port, '/graphql', body);
    return this.loop.attempt(
      seq,
      mailbox,
      phase,
      dueAt,
      () => connection.requestWithin(raw, REQUEST_TIMEOUT_MS),
      (response) => {
        const outcome = readSendResponse(response.status, response.body, 1);
        return outcome.acknowledged === 1 ? null : (outcome.error ?? 'refused');
      },
    );
  }

  result(readyMs: number): LiveLoadResult {
    return this.loop.result(readyMs);
  }

  async close(): Promise<void> {
    this.loop.closing = true;
    for (const connection of this.pool) connection.close();
    await Promise.all(
      this.clients.map(async (client) => {
        await client.dispose();
      }),
    );
  }
}

runLiveLoad<LiveLoadRequest, LiveLoadResult>((request) => new LiveLoad(request));
