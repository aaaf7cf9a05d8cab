/**
 * What the open-loop live loads share (clients/live-load.ts, clients/mcp-live.ts,
 * clients/peers/peer-live.ts), whatever carries their messages: paced sending (a fixed rate,
 * a send finding no lane free waiting for one) or saturated sending, the bookkeeping of each
 * send by its sequence number, the send, receipt and schedule latencies of the measured
 * phase, the exactly-once count, the result, and the child process that runs a load. Each
 * load keeps its own receivers, probes and sends, and records them here.
 */
import { performance } from 'node:perf_hooks';
import type { ExactlyOnce, LiveLoadResult, Sending } from '../clients/live-load';
import { runAsChild } from './child-runtime';
import { GrowableBytes, GrowableNumbers, LatencyRecorder, sleep } from './stats';

/** A run's phases: the warm-up's sends are not measured. */
const WARMUP = 0;
const MEASURE = 1;
/** Tells the runner where the measured phase starts and ends (it samples CPU times then). */
export type Mark = (type: 'measure-start' | 'measure-end') => void;

/** What became of a send. */
const IN_FLIGHT = 0;
const ACKNOWLEDGED = 1;
const REFUSED = 2;
const UNANSWERED = 3;

/** `perTarget` receivers for each of `targets` targets, by target. */
export function receiverGrid(targets: number, perTarget: number): Receiver[][] {
  return Array.from({ length: targets }, (_, target) =>
    Array.from({ length: perTarget }, () => ({
      target,
      counts: new GrowableBytes(),
      probed: false,
    })),
  );
}

/** A receiver: the target (mailbox, queue) it listens on, how often it got each message. */
export interface Receiver {
  target: number;
  counts: GrowableBytes;
  probed: boolean;
}

/** A paced send waiting for a lane: `dueAt` is when the schedule wanted it out. */
export interface QueuedSend {
  seq: number;
  phase: number;
  dueAt: number;
}

/** What paced sends go out on (connections, clients): a lane sends one at a time. */
export interface Lanes<L> {
  /** Every lane; saturated sending keeps each of them busy. */
  readonly all: readonly L[];
  /** Sends waiting for a lane. */
  readonly waiting: number;
  /** A free lane for send `seq`, now taken; undefined when the send has to wait. */
  take(seq: number): L | undefined;
  /** Queues a send until a lane for it is free. */
  wait(send: QueuedSend): void;
  /** The next send waiting for `lane`, which stays taken; undefined frees the lane. */
  next(lane: L): QueuedSend | undefined;
}

/** Any free lane takes a send; the sends waiting for one do so in one queue, in order. */
class SharedLanes<L> implements Lanes<L> {
  private readonly free: L[];
  private readonly queue: QueuedSend[] = [];

  constructor(readonly all: readonly L[]) {
    this.free = [...all];
  }

  get waiting(): number {
    return this.queue.length;
  }

  take(): L | undefined {
    return this.free.pop();
  }

  wait(send: QueuedSend): void {
    this.queue.push(send);
  }

  next(lane: L): QueuedSend | undefined {
    const next = this.queue.shift();
    if (next === undefined) this.free.push(lane);
    return next;
  }
}

/** The request fields an open-loop load reads. */
export interface OpenLoopRequest {
  sending: Sending;
  warmupMs: number;
  durationMs: number;
  /** How long to wait after the last send for deliveries still on their way. */
  drainTimeoutMs: number;
  /** Return the measured phase's latency samples too, for pooling several runs. */
  keepSamples?: boolean;
}

export interface OpenLoopSetup<L> {
  request: OpenLoopRequest;
  /** The lanes sends go out on: a list (any free lane takes the next send) or a Lanes. */
  lanes: readonly L[] | Lanes<L>;
  /** Makes send `seq` on `lane` (through `attempt`); `dueAt` only when paced. */
  send(seq: number, phase: number, lane: L, dueAt: number | null): Promise<void>;
  /**
   * The receivers by target, as many for every target: each should get every acknowledged
   * message sent to its target once.
   */
  receivers: ReadonlyArray<readonly Receiver[]>;
  /** Saturated sending: waits (until `end` at most) before each send, when given. */
  room?(end: number): Promise<void>;
  /** Called once a send's outcome is known (acknowledged or not). */
  answered?(seq: number, acknowledged: boolean): void;
}

function isLanes<L>(lanes: readonly L[] | Lanes<L>): lanes is Lanes<L> {
  return 'take' in lanes;
}

/** Paced sending: at most this many seconds of sends wait for a lane; more are skipped. */
const MAX_BACKLOG_SECONDS = 5;
/** How long the receivers have to receive their first probe. */
const LIVE_TIMEOUT_MS = 30_000;

/** One run of a live load: its sends, their receipts and what became of each. */
export class OpenLoop<L> {
  /** The next send's sequence number: sends 0 to nextSeq - 1 were made. */
  nextSeq = 0;
  /** Set while the load closes: receiver errors are expected then, and not recorded. */
  closing = false;
  readonly receiverErrors: string[] = [];
  private readonly sendErrors: string[] = [];
  private readonly sentAt = new GrowableNumbers();
  private readonly targetOf = new GrowableNumbers();
  private readonly phaseOf = new GrowableBytes();
  private readonly status = new GrowableBytes();
  private readonly latency = new LatencyRecorder();
  private readonly sendLatency = new LatencyRecorder();
  private readonly scheduleLag = new LatencyRecorder();
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
  private probes = 0;
  private readonly lanes: Lanes<L>;

  constructor(private readonly setup: OpenLoopSetup<L>) {
    this.lanes = isLanes(setup.lanes) ? setup.lanes : new SharedLanes(setup.lanes);
  }

  /** The target send `seq` went to. */
  target(seq: number): number {
    return this.targetOf.get(seq);
  }

  isAcknowledged(seq: number): boolean {
    return this.status.get(seq) === ACKNOWLEDGED;
  }

  receiverError(error: string): void {
    if (!this.closing && this.receiverErrors.length < 20) this.receiverErrors.push(error);
  }

  /** A receipt of something no send made, or at a receiver it was not sent to. */
  misroute(): void {
    this.misrouted += 1;
  }

  /** A receipt of send `seq` at `now` by a receiver counting in `counts`: its count so far. */
  delivered(seq: number, counts: GrowableBytes, now: number): number {
    this.received += 1;
    const count = counts.increment(seq);
    if (count === 1 && this.phaseOf.get(seq) === MEASURE)
      this.latency.record(now - this.sentAt.get(seq));
    if (now >= this.windowStart && now <= this.windowEnd) this.deliveriesInWindow += 1;
    return count;
  }

  /** The head of the next probe's body: "p:<n>:", where a send's is "m:<seq>:". */
  probeHead(): string {
    return `p:${this.probes++}:`;
  }

  /** The targets with a receiver that has not yet received a probe. */
  private unprobed(): number[] {
    return this.setup.receivers
      .map((receivers, target) => (receivers.some((r) => !r.probed) ? target : -1))
      .filter((target) => target >= 0);
  }

  /**
   * Probes until every receiver has had a probe: each pass fails on a receiver error (naming
   * `failed` and the first `shown` errors) or after 30 s (`notLive` after the count of
   * targets still waiting), else has `probe` send to the targets still waiting. Resolves
   * with the time since `started`.
   */
  async probeUntilLive(
    started: number,
    probe: (targets: number[]) => Promise<unknown>,
    names: { failed: string; notLive: string; shown?: number },
  ): Promise<number> {
    const deadline = performance.now() + LIVE_TIMEOUT_MS;
    for (;;) {
      const targets = this.unprobed();
      if (targets.length === 0) return performance.now() - started;
      if (this.receiverErrors.length > 0)
        throw new Error(`${names.failed}: ${this.receiverErrors.slice(0, names.shown).join('; ')}`);
      if (performance.now() > deadline)
        throw new Error(`${targets.length} ${names.notLive} after 30 s`);
      await probe(targets);
      await sleep(100);
    }
  }

  /**
   * Send `seq` to `target`: `request` makes the call (timed from just before it), `verdict`
   * reads the answer: null when it acknowledges the message, else why it was refused. A
   * rejection is a send without an answer.
   */
  async attempt<T>(
    seq: number,
    target: number,
    phase: number,
    dueAt: number | null,
    request: () => Promise<T>,
    verdict: (answer: T) => string | null,
  ): Promise<void> {
    this.targetOf.set(seq, target);
    this.phaseOf.set(seq, phase);
    this.inFlight += 1;
    const sent = performance.now();
    this.sentAt.set(seq, sent);
    if (dueAt !== null && phase === MEASURE) this.scheduleLag.record(sent - dueAt);
    try {
      const answer = await request();
      const answered = performance.now();
      const refusal = verdict(answer);
      if (refusal === null) {
        this.status.set(seq, ACKNOWLEDGED);
        this.acknowledged += 1;
        if (phase === MEASURE) {
          this.measuredAcknowledged += 1;
          this.sendLatency.record(answered - sent);
          if (answered <= this.windowEnd) this.sendsInWindow += 1;
        }
        this.setup.answered?.(seq, true);
      } else {
        this.status.set(seq, REFUSED);
        this.setup.answered?.(seq, false);
        if (this.sendErrors.length < 5) this.sendErrors.push(refusal);
      }
    } catch (error) {
      this.status.set(seq, UNANSWERED);
      this.setup.answered?.(seq, false);
      if (this.sendErrors.length < 5) this.sendErrors.push((error as Error).message);
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Sends at a fixed rate for `durationMs`; a send finding no lane free waits for one. */
  private paced(phase: number, durationMs: number, perSecond: number): Promise<void> {
    const { lanes } = this;
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
          const lane = lanes.take(this.nextSeq);
          if (lane === undefined && lanes.waiting >= perSecond * MAX_BACKLOG_SECONDS) {
            this.skipped += 1; // never sent: keeps an overloaded run bounded in time
            continue;
          }
          const seq = this.nextSeq++;
          if (lane !== undefined) this.dispatch(seq, phase, dueAt, lane);
          else lanes.wait({ seq, phase, dueAt });
        }
        this.maxQueued = Math.max(this.maxQueued, lanes.waiting);
        if (now >= end) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
  }

  /** Sends on `lane`, then hands it the next send waiting for it, or frees it. */
  private dispatch(seq: number, phase: number, dueAt: number, lane: L): void {
    void this.setup.send(seq, phase, lane, dueAt).then(() => {
      const next = this.lanes.next(lane);
      if (next !== undefined) this.dispatch(next.seq, next.phase, next.dueAt, lane);
    });
  }

  /** Keeps every lane busy for `durationMs`. */
  private async saturate(phase: number, durationMs: number): Promise<void> {
    const { room, send } = this.setup;
    const end = performance.now() + durationMs;
    await Promise.all(
      this.lanes.all.map(async (lane) => {
        for (;;) {
          if (room) await room(end);
          if (performance.now() >= end) return;
          await send(this.nextSeq++, phase, lane, null);
        }
      }),
    );
  }

  private phase(phase: number, durationMs: number): Promise<void> {
    const sending = this.setup.request.sending;
    return sending.kind === 'paced'
      ? this.paced(phase, durationMs, sending.perSecond)
      : this.saturate(phase, durationMs);
  }

  /** The warm-up, the measured phase (between marks), then what is still on its way. */
  async run(mark: Mark): Promise<void> {
    const { request, receivers } = this.setup;
    if (request.warmupMs > 0) await this.phase(WARMUP, request.warmupMs);
    this.windowStart = performance.now();
    this.windowEnd = this.windowStart + request.durationMs;
    mark('measure-start');
    await this.phase(MEASURE, request.durationMs);
    mark('measure-end');
    while (this.inFlight > 0 || this.lanes.waiting > 0) await sleep(5);
    // Deliveries still on their way: wait for all of them, or for the drain timeout.
    const expected = this.acknowledged * (receivers[0]?.length ?? 0);
    const deadline = performance.now() + request.drainTimeoutMs;
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
      for (const receiver of this.setup.receivers[this.targetOf.get(seq)]) {
        const count = receiver.counts.get(seq);
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
    const { request, receivers } = this.setup;
    return {
      subscribers: receivers.reduce((sum, target) => sum + target.length, 0),
      readyMs,
      windowMs: request.durationMs,
      sendsInWindow: this.sendsInWindow,
      deliveriesInWindow: this.deliveriesInWindow,
      latency: this.latency.summary(),
      sendLatency: this.sendLatency.summary(),
      maxQueued: this.maxQueued,
      skipped: this.skipped,
      scheduleLag: request.sending.kind === 'paced' ? this.scheduleLag.summary() : null,
      measuredAcknowledged: this.measuredAcknowledged,
      exactlyOnce: this.exactlyOnce(),
      subscriptionErrors: this.receiverErrors,
      sendErrors: this.sendErrors,
      samples: request.keepSamples
        ? {
            latency: this.latency.samples(),
            sendLatency: this.sendLatency.samples(),
            scheduleLag: this.scheduleLag.samples(),
          }
        : undefined,
    };
  }
}

/** A live load as its child process runs it. */
export interface LiveLoad<R> {
  readonly loop: { run(mark: Mark): Promise<void> };
  /** Connects and starts every receiver; resolves with the time until all were live. */
  start(): Promise<number>;
  result(readyMs: number): R;
  close(): Promise<void>;
}

/** The body of a live load's child process: start, run, the result; closed in any case. */
export function runLiveLoad<Q, R>(create: (request: Q) => LiveLoad<R>): void {
  runAsChild<Q, R>(async (request, parent) => {
    const load = create(request);
    try {
      const readyMs = await load.start();
      await load.loop.run((type) => parent.send({ type }));
      return load.result(readyMs);
    } finally {
      await load.close();
    }
  });
}
