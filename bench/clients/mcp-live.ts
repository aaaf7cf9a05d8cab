/**
 * i. Send to wait over MCP, in one process (one clock for send and receipt times): each pair
 * is a planner and a worker, each with its own SDK client and mailbox token. Every worker
 * calls `wait_for_message` again as soon as the last one answered; the planners send DIRECT
 * messages to their workers with `send_message` at a fixed rate, round-robin over the pairs,
 * one send in flight per planner (a send whose planner is busy waits for it: "sends left
 * late", not part of the latency). The latency runs from just before the send call to the
 * wait's answer reaching the worker; the body carries a sequence number ("m:<seq>:").
 * Returns the same result as live-load.ts, so that both are read and checked alike.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { performance } from 'node:perf_hooks';
import { runAsChild } from '../lib/child-runtime';
import { padded } from '../lib/graphql';
import { forEachLimited } from '../lib/live-feed';
import { GrowableBytes, GrowableNumbers, LatencyRecorder, sleep } from '../lib/stats';
import type { ExactlyOnce, LiveLoadResult } from './live-load';
import {
  callTool,
  closeAll,
  connectMcp,
  errorText,
  readWait,
  sendAcknowledged,
  type McpAgent,
} from './mcp-client';

export interface McpLiveRequest {
  baseUrl: string;
  pairs: Array<{ planner: McpAgent; worker: McpAgent }>;
  perSecond: number;
  contentBytes: number;
  /** wait_for_message's timeout_s. */
  waitTimeoutS: number;
  warmupMs: number;
  durationMs: number;
  /** How long to wait after the last send for deliveries still on their way. */
  drainTimeoutMs: number;
  keepSamples?: boolean;
}

export interface McpLiveResult extends LiveLoadResult {
  /** The probe sends (one per worker or more) that made sure every wait loop runs. */
  probes: { acknowledged: number; refused: number; unanswered: number };
  /** wait_for_message calls answered, and how many of them with status "timeout". */
  waits: number;
  waitTimeouts: number;
}

const WARMUP = 0;
const MEASURE = 1;
const IN_FLIGHT = 0;
const ACKNOWLEDGED = 1;
const REFUSED = 2;
const UNANSWERED = 3;
const SEND_TIMEOUT_MS = 15_000;
/** At most this many seconds of sends wait for their planner; more are skipped. */
const MAX_BACKLOG_SECONDS = 5;

interface Worker {
  index: number;
  agent: McpAgent;
  client: Client | null;
  counts: GrowableBytes;
  probed: boolean;
}

interface Planner {
  agent: McpAgent;
  client: Client | null;
  busy: boolean;
  queue: Array<{ seq: number; phase: number; dueAt: number }>;
}

class McpLive {
  private readonly workers: Worker[];
  private readonly planners: Planner[];
  private readonly loops: Array<Promise<void>> = [];
  private readonly sentAt = new GrowableNumbers();
  private readonly pairOf = new GrowableNumbers();
  private readonly phaseOf = new GrowableBytes();
  private readonly status = new GrowableBytes();
  private readonly latency = new LatencyRecorder();
  private readonly sendLatency = new LatencyRecorder();
  private readonly scheduleLag = new LatencyRecorder();
  private readonly waitErrors: string[] = [];
  private readonly sendErrors: string[] = [];
  private readonly probes = { acknowledged: 0, refused: 0, unanswered: 0 };
  private nextSeq = 0;
  private inFlight = 0;
  private queued = 0;
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
  private waits = 0;
  private waitTimeouts = 0;
  private closing = false;

  constructor(
    private readonly request: McpLiveRequest,
    private readonly mark: (type: 'measure-start' | 'measure-end') => void,
  ) {
    this.workers = request.pairs.map((pair, index) => ({
      index,
      agent: pair.worker,
      client: null,
      counts: new GrowableBytes(),
      probed: false,
    }));
    this.planners = request.pairs.map((pair) => ({
      agent: pair.planner,
      client: null,
      busy: false,
      queue: [],
    }));
  }

  private waitError(error: string): void {
    if (!this.closing && this.waitErrors.length < 20) this.waitErrors.push(error);
  }

  private receive(worker: Worker, to: string, body: string, now: number): void {
    if (body.startsWith('p:')) {
      worker.probed = true;
      return;
    }
    const seq = Number(body.slice(2, body.indexOf(':', 2)));
    if (to !== worker.agent.mailbox || this.pairOf.get(seq) !== worker.index) {
      this.misrouted += 1;
      return;
    }
    this.received += 1;
    const count = worker.counts.increment(seq);
    if (count === 1 && this.phaseOf.get(seq) === MEASURE)
      this.latency.record(now - this.sentAt.get(seq));
    if (now >= this.windowStart && now <= this.windowEnd) this.deliveriesInWindow += 1;
  }

  /** One worker's loop: a new wait as soon as the last one answered, until closing. */
  private async waitLoop(worker: Worker, client: Client): Promise<void> {
    const timeoutS = this.request.waitTimeoutS;
    while (!this.closing) {
      let answer;
      try {
        const result = await callTool(
          client,
          'wait_for_message',
          { timeout_s: timeoutS },
          (timeoutS + 30) * 1000,
        );
        answer = readWait(result);
        if (answer === null) {
          this.waitError(`wait_for_message refused: ${errorText(result)}`);
          await sleep(100);
          continue;
        }
      } catch (error) {
        if (this.closing) return;
        this.waitError(`wait_for_message failed: ${(error as Error).message}`);
        await sleep(100);
        continue;
      }
      const now = performance.now();
      this.waits += 1;
      if (answer.status === 'timeout') this.waitTimeouts += 1;
      for (const message of answer.messages) this.receive(worker, message.to, message.body, now);
    }
  }

  /** Connects every client, starts the wait loops, then probes until each worker got one. */
  async start(): Promise<number> {
    const started = performance.now();
    const { baseUrl } = this.request;
    await forEachLimited(this.workers, 10, async (worker, index) => {
      const client = await connectMcp(baseUrl, worker.agent);
      worker.client = client;
      this.planners[index].client = await connectMcp(baseUrl, this.planners[index].agent);
      this.loops.push(this.waitLoop(worker, client));
    });
    const deadline = performance.now() + 30_000;
    let probe = 0;
    for (;;) {
      const waiting = this.workers.filter((worker) => !worker.probed);
      if (waiting.length === 0) return performance.now() - started;
      if (this.waitErrors.length > 0)
        throw new Error(`waits failed: ${this.waitErrors.slice(0, 3).join('; ')}`);
      if (performance.now() > deadline)
        throw new Error(`${waiting.length} workers still not waiting after 30 s`);
      await Promise.all(
        waiting.map(async (worker) => {
          const planner = this.planners[worker.index];
          const result = await callTool(
            planner.client as Client,
            'send_message',
            {
              to: worker.agent.mailbox,
              body: padded(`p:${probe++}:`, this.request.contentBytes),
            },
            SEND_TIMEOUT_MS,
          ).catch((error: Error) => error);
          if (result instanceof Error) this.probes.unanswered += 1;
          else if (sendAcknowledged(result)) this.probes.acknowledged += 1;
          else {
            this.probes.refused += 1;
            throw new Error(`probe refused: ${errorText(result)}`);
          }
        }),
      );
      await sleep(100);
    }
  }

  private async send(seq: number, phase: number, planner: Planner, dueAt: number): Promise<void> {
    const pair = seq % this.workers.length;
    this.pairOf.set(seq, pair);
    this.phaseOf.set(seq, phase);
    const args = {
      to: this.workers[pair].agent.mailbox,
      body: padded(`m:${seq}:`, this.request.contentBytes),
    };
    this.inFlight += 1;
    const sent = performance.now();
    this.sentAt.set(seq, sent);
    if (phase === MEASURE) this.scheduleLag.record(sent - dueAt);
    try {
      const result = await callTool(
        planner.client as Client,
        'send_message',
        args,
        SEND_TIMEOUT_MS,
      );
      const answered = performance.now();
      if (sendAcknowledged(result)) {
        this.status.set(seq, ACKNOWLEDGED);
        this.acknowledged += 1;
        if (phase === MEASURE) {
          this.measuredAcknowledged += 1;
          this.sendLatency.record(answered - sent);
          if (answered <= this.windowEnd) this.sendsInWindow += 1;
        }
      } else {
        this.status.set(seq, REFUSED);
        if (this.sendErrors.length < 5) this.sendErrors.push(errorText(result));
      }
    } catch (error) {
      this.status.set(seq, UNANSWERED);
      if (this.sendErrors.length < 5) this.sendErrors.push((error as Error).message);
    } finally {
      this.inFlight -= 1;
    }
  }

  /** Sends on `planner`, then the next send queued for it, until its queue is empty. */
  private dispatch(seq: number, phase: number, dueAt: number, planner: Planner): void {
    planner.busy = true;
    void this.send(seq, phase, planner, dueAt).then(() => {
      const next = planner.queue.shift();
      if (next === undefined) {
        planner.busy = false;
        return;
      }
      this.queued -= 1;
      this.dispatch(next.seq, next.phase, next.dueAt, planner);
    });
  }

  /** Sends at a fixed rate for `durationMs`, round-robin over the pairs. */
  private paced(phase: number, durationMs: number): Promise<void> {
    const { perSecond } = this.request;
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
          const planner = this.planners[this.nextSeq % this.planners.length];
          if (planner.busy && this.queued >= perSecond * MAX_BACKLOG_SECONDS) {
            this.skipped += 1;
            continue;
          }
          const seq = this.nextSeq++;
          if (!planner.busy) this.dispatch(seq, phase, dueAt, planner);
          else {
            planner.queue.push({ seq, phase, dueAt });
            this.queued += 1;
          }
        }
        this.maxQueued = Math.max(this.maxQueued, this.queued);
        if (now >= end) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
  }

  async run(): Promise<void> {
    if (this.request.warmupMs > 0) await this.paced(WARMUP, this.request.warmupMs);
    this.windowStart = performance.now();
    this.windowEnd = this.windowStart + this.request.durationMs;
    this.mark('measure-start');
    await this.paced(MEASURE, this.request.durationMs);
    this.mark('measure-end');
    while (this.inFlight > 0 || this.queued > 0) await sleep(5);
    const deadline = performance.now() + this.request.drainTimeoutMs;
    while (this.received < this.acknowledged && performance.now() < deadline) await sleep(20);
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
      const count = this.workers[this.pairOf.get(seq)].counts.get(seq);
      if (count > 1) result.duplicates += 1;
      if (status === ACKNOWLEDGED) result.messagesAcknowledged += 1;
      else if (status === REFUSED) result.messagesRefused += 1;
      else if (status === UNANSWERED || status === IN_FLIGHT) result.messagesUnanswered += 1;
      if (status !== ACKNOWLEDGED) {
        if (count > 0) result.unacknowledgedDelivered += 1;
        continue;
      }
      result.expectedDeliveries += 1;
      if (count === 0) result.missing += 1;
      else if (count === 1) result.deliveredOnce += 1;
    }
    return result;
  }

  result(readyMs: number): McpLiveResult {
    return {
      subscribers: this.workers.length,
      readyMs,
      windowMs: this.request.durationMs,
      sendsInWindow: this.sendsInWindow,
      measuredAcknowledged: this.measuredAcknowledged,
      deliveriesInWindow: this.deliveriesInWindow,
      latency: this.latency.summary(),
      sendLatency: this.sendLatency.summary(),
      maxQueued: this.maxQueued,
      skipped: this.skipped,
      scheduleLag: this.scheduleLag.summary(),
      exactlyOnce: this.exactlyOnce(),
      subscriptionErrors: this.waitErrors,
      sendErrors: this.sendErrors,
      samples: this.request.keepSamples
        ? {
            latency: this.latency.samples(),
            sendLatency: this.sendLatency.samples(),
            scheduleLag: this.scheduleLag.samples(),
          }
        : undefined,
      probes: this.probes,
      waits: this.waits,
      waitTimeouts: this.waitTimeouts,
    };
  }

  async close(): Promise<void> {
    this.closing = true;
    // Closing a client aborts its wait in flight; the service then ends the wait.
    const clients = [...this.workers, ...this.planners]
      .map((side) => side.client)
      .filter((client): client is Client => client !== null);
    await closeAll(clients);
    await Promise.all(this.loops);
  }
}

runAsChild<McpLiveRequest, McpLiveResult>(async (request, parent) => {
  const load = new McpLive(request, (type) => parent.send({ type }));
  try {
    const readyMs = await load.start();
    await load.run();
    return load.result(readyMs);
  } finally {
    await load.close();
  }
});
