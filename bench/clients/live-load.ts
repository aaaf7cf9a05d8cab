/**
 * Sends and subscribers for the end-to-end and fan-out scenarios, in one process of their
 * own (one clock for send and receipt times). Every subscriber has its own graphql-ws
 * WebSocket. Sends are sendMessage mutations over keep-alive HTTP connections, either paced
 * (a fixed rate, round-robin over the mailboxes) or at saturation (a fixed number in flight).
 * Each message's content starts with "m:<seq>:", which maps a receipt back to its send.
 */
import type { Client } from 'graphql-ws';
import { performance } from 'node:perf_hooks';
import { runAsChild } from '../lib/child-runtime';
import { directInput, padded, readSendResponse, sendMessageBody } from '../lib/graphql';
import { buildPost, HttpConnection } from '../lib/http-connection';
import { connectClient, forEachLimited, subscribeFeed } from '../lib/live-feed';
import {
  GrowableBytes,
  GrowableNumbers,
  LatencyRecorder,
  sleep,
  type LatencySummary,
} from '../lib/stats';

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

const WARMUP = 0;
const MEASURE = 1;
const IN_FLIGHT = 0;
const ACKNOWLEDGED = 1;
const REFUSED = 2;
const UNANSWERED = 3;
const REQUEST_TIMEOUT_MS = 15_000;
/** Paced sending: at most this many seconds of sends wait for a connection; more are skipped. */
const MAX_BACKLOG_SECONDS = 5;

interface Subscriber {
  mailbox: number;
  counts: GrowableBytes;
  probed: boolean;
}

class LiveLoad {
  private readonly subscribers: Subscriber[] = [];
  private readonly byMailbox: Subscriber[][];
  private readonly clients: Client[] = [];
  private readonly pool: HttpConnection[];
  /** Paced sending: connections with nothing in flight, and sends waiting for one. */
  private readonly free: HttpConnection[];
  private readonly queue: Array<{ seq: number; phase: number; dueAt: number }> = [];
  private readonly sentAt = new GrowableNumbers();
  private readonly mailboxOf = new GrowableNumbers();
  private readonly phaseOf = new GrowableBytes();
  private readonly status = new GrowableBytes();
  private readonly latency = new LatencyRecorder();
  private readonly sendLatency = new LatencyRecorder();
  private readonly scheduleLag = new LatencyRecorder();
  private readonly subscriptionErrors: string[] = [];
  private readonly sendErrors: string[] = [];
  private nextSeq = 0;
  private inFlight = 0;
  private received = 0;
  private misrouted = 0;
  private acknowledged = 0;
  private windowStart = Infinity;
  private windowEnd = -Infinity;
  private sendsInWindow = 0;
  private measuredAcknowledged = 0;
  private deliveriesInWindow = 0;
  private maxQueued = 0;
  private skipped = 0;
  private closing = false;

  constructor(
    private readonly request: LiveLoadRequest,
    /** Tells the runner where the measured phase starts and ends (it samples CPU times). */
    private readonly mark: (type: 'measure-start' | 'measure-end') => void,
  ) {
    this.byMailbox = request.mailboxes.map(() => []);
    const connections =
      request.sending.kind === 'paced' ? request.sending.connections : request.sending.inFlight;
    this.pool = Array.from(
      { length: connections },
      () => new HttpConnection(request.host, request.port),
    );
    this.free = [...this.pool];
  }

  private subscriptionError(error: string): void {
    if (!this.closing && this.subscriptionErrors.length < 20) this.subscriptionErrors.push(error);
  }

  private receive(subscriber: Subscriber, content: string): void {
    const now = performance.now();
    const seq = Number(content.slice(2, content.indexOf(':', 2)));
    if (content.startsWith('p:')) {
      subscriber.probed = true;
      return;
    }
    if (this.mailboxOf.get(seq) !== subscriber.mailbox) {
      this.misrouted += 1;
      return;
    }
    this.received += 1;
    const count = subscriber.counts.increment(seq);
    if (count === 1 && this.phaseOf.get(seq) === MEASURE)
      this.latency.record(now - this.sentAt.get(seq));
    if (now >= this.windowStart && now <= this.windowEnd) this.deliveriesInWindow += 1;
  }

  /** Opens every subscriber, then probes until each has received a message. */
  async subscribe(): Promise<number> {
    const started = performance.now();
    const { mailboxes, subscribersPerMailbox, wsUrl } = this.request;
    mailboxes.forEach((_, mailbox) => {
      for (let i = 0; i < subscribersPerMailbox; i++) {
        const subscriber: Subscriber = { mailbox, counts: new GrowableBytes(), probed: false };
        this.subscribers.push(subscriber);
        this.byMailbox[mailbox].push(subscriber);
      }
    });
    await forEachLimited(this.subscribers, 20, async (subscriber) => {
      const client = await connectClient(wsUrl, (reason) => this.subscriptionError(reason));
      this.clients.push(client);
      subscribeFeed(
        client,
        mailboxes[subscriber.mailbox],
        (content) => this.receive(subscriber, content),
        (error) => this.subscriptionError(error),
      );
    });
    const deadline = performance.now() + 30_000;
    let probe = 0;
    for (;;) {
      const waiting = this.byMailbox
        .map((subscribers, mailbox) => (subscribers.some((s) => !s.probed) ? mailbox : -1))
        .filter((mailbox) => mailbox >= 0);
      if (waiting.length === 0) return performance.now() - started;
      if (this.subscriptionErrors.length > 0)
        throw new Error(`subscriptions failed: ${this.subscriptionErrors.join('; ')}`);
      if (performance.now() > deadline)
        throw new Error(`${waiting.length} mailboxes' subscribers still not live after 30 s`);
      // Each connection probes its share of the waiting mailboxes, one request at a time.
      await Promise.all(
        this.pool.map(async (connection, lane) => {
          for (let i = lane; i < waiting.length; i += this.pool.length) {
            const body = sendMessageBody(
              directInput(
                mailboxes[waiting[i]],
                padded(`p:${probe++}:`, this.request.contentBytes),
              ),
            );
            const raw = buildPost(this.request.host, this.request.port, '/graphql', body);
            const response = await connection.requestWithin(raw, REQUEST_TIMEOUT_MS);
            const outcome = readSendResponse(response.status, response.body, 1);
            if (outcome.error) throw new Error(`probe refused: ${outcome.error}`);
          }
        }),
      );
      await sleep(100);
    }
  }

  /** `dueAt`: when the pacing schedule wanted this send out (paced sending only). */
  private async send(
    seq: number,
    phase: number,
    connection: HttpConnection,
    dueAt: number | null = null,
  ): Promise<void> {
    const mailbox = seq % this.request.mailboxes.length;
    this.mailboxOf.set(seq, mailbox);
    this.phaseOf.set(seq, phase);
    const body = sendMessageBody(
      directInput(this.request.mailboxes[mailbox], padded(`m:${seq}:`, this.request.contentBytes)),
    );
    const raw = buildPost(this.request.host, this.request.port, '/graphql', body);
    this.inFlight += 1;
    const sent = performance.now();
    this.sentAt.set(seq, sent);
    if (dueAt !== null && phase === MEASURE) this.scheduleLag.record(sent - dueAt);
    try {
      const response = await connection.requestWithin(raw, REQUEST_TIMEOUT_MS);
      const answered = performance.now();
      const outcome = readSendResponse(response.status, response.body, 1);
      if (outcome.acknowledged === 1) {
        this.status.set(seq, ACKNOWLEDGED);
        this.acknowledged += 1;
        if (phase === MEASURE) {
          this.measuredAcknowledged += 1;
          this.sendLatency.record(answered - sent);
          if (answered <= this.windowEnd) this.sendsInWindow += 1;
        }
      } else {
        this.status.set(seq, REFUSED);
        if (this.sendErrors.length < 5) this.sendErrors.push(outcome.error ?? 'refused');
      }
    } catch (error) {
      this.status.set(seq, UNANSWERED);
      if (this.sendErrors.length < 5) this.sendErrors.push((error as Error).message);
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Sends at a fixed rate for `durationMs`; sends wait for a free connection when none is. */
  private paced(phase: number, durationMs: number, perSecond: number): Promise<void> {
    const start = performance.now();
    const end = start + durationMs;
    let issued = 0;
    return new Promise((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        const due = Math.floor(((Math.min(now, end) - start) * perSecond) / 1000);
        while (issued < due) {
          issued += 1;
          const dueAt = start + (issued * 1000) / perSecond;
          const connection = this.free.pop();
          if (!connection && this.queue.length >= perSecond * MAX_BACKLOG_SECONDS) {
            this.skipped += 1; // never sent: keeps an overloaded run bounded in time
            continue;
          }
          const seq = this.nextSeq++;
          if (connection) this.dispatch(seq, phase, dueAt, connection);
          else this.queue.push({ seq, phase, dueAt });
        }
        this.maxQueued = Math.max(this.maxQueued, this.queue.length);
        if (now >= end) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
  }

  /** Sends on `connection`, then hands it the next queued send, or frees it. */
  private dispatch(seq: number, phase: number, dueAt: number, connection: HttpConnection): void {
    void this.send(seq, phase, connection, dueAt).then(() => {
      const next = this.queue.shift();
      if (next === undefined) this.free.push(connection);
      else this.dispatch(next.seq, next.phase, next.dueAt, connection);
    });
  }

  /** Keeps every connection busy for `durationMs`. */
  private async saturate(phase: number, durationMs: number): Promise<void> {
    const end = performance.now() + durationMs;
    await Promise.all(
      this.pool.map(async (connection) => {
        while (performance.now() < end) await this.send(this.nextSeq++, phase, connection);
      }),
    );
  }

  private phase(phase: number, durationMs: number): Promise<void> {
    const sending = this.request.sending;
    return sending.kind === 'paced'
      ? this.paced(phase, durationMs, sending.perSecond)
      : this.saturate(phase, durationMs);
  }

  async run(): Promise<void> {
    if (this.request.warmupMs > 0) await this.phase(WARMUP, this.request.warmupMs);
    this.windowStart = performance.now();
    this.windowEnd = this.windowStart + this.request.durationMs;
    this.mark('measure-start');
    await this.phase(MEASURE, this.request.durationMs);
    this.mark('measure-end');
    while (this.inFlight > 0 || this.queue.length > 0) await sleep(5);
    // Deliveries still on their way: wait for all of them, or for the drain timeout.
    const expected = this.acknowledged * this.request.subscribersPerMailbox;
    const deadline = performance.now() + this.request.drainTimeoutMs;
    while (this.received < expected && performance.now() < deadline) await sleep(20);
    await sleep(250); // a duplicate would show up now
  }

  exactlyOnce(): ExactlyOnce {
    const result: ExactlyOnce = {
      messagesAcknowledged: 0,
      messagesRefused: 0,
      messagesUnanswered: 0,
      expectedDeliveries: 0,
      deliveredOnce: 0,
      missing: 0,
      duplicates: 0,
      misrouted: this.misrouted,
      unacknowledgedDelivered: 0,
    };
    for (let seq = 0; seq < this.nextSeq; seq++) {
      const status = this.status.get(seq);
      if (status === ACKNOWLEDGED) result.messagesAcknowledged += 1;
      else if (status === REFUSED) result.messagesRefused += 1;
      else if (status === UNANSWERED || status === IN_FLIGHT) result.messagesUnanswered += 1;
      for (const subscriber of this.byMailbox[this.mailboxOf.get(seq)]) {
        const count = subscriber.counts.get(seq);
        if (count > 1) result.duplicates += 1;
        if (status !== ACKNOWLEDGED) {
          if (count > 0) result.unacknowledgedDelivered += 1;
          continue;
        }
        result.expectedDeliveries += 1;
        if (count === 0) result.missing += 1;
        else if (count === 1) result.deliveredOnce += 1;
      }
    }
    return result;
  }

  result(readyMs: number): LiveLoadResult {
    return {
      subscribers: this.subscribers.length,
      readyMs,
      windowMs: this.request.durationMs,
      sendsInWindow: this.sendsInWindow,
      deliveriesInWindow: this.deliveriesInWindow,
      latency: this.latency.summary(),
      sendLatency: this.sendLatency.summary(),
      maxQueued: this.maxQueued,
      skipped: this.skipped,
      scheduleLag: this.request.sending.kind === 'paced' ? this.scheduleLag.summary() : null,
      measuredAcknowledged: this.measuredAcknowledged,
      exactlyOnce: this.exactlyOnce(),
      subscriptionErrors: this.subscriptionErrors,
      sendErrors: this.sendErrors,
      samples: this.request.keepSamples
        ? {
            latency: this.latency.samples(),
            sendLatency: this.sendLatency.samples(),
            scheduleLag: this.scheduleLag.samples(),
          }
        : undefined,
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const connection of this.pool) connection.close();
    await Promise.all(
      this.clients.map(async (client) => {
        await client.dispose();
      }),
    );
  }
}

runAsChild<LiveLoadRequest, LiveLoadResult>(async (request, parent) => {
  const load = new LiveLoad(request, (type) => parent.send({ type }));
  try {
    const readyMs = await load.subscribe();
    await load.run();
    return load.result(readyMs);
  } finally {
    await load.close();
  }
});
