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
import { padded } from '../lib/bodies';
import { forEachLimited } from '../lib/live-feed';
import {
  OpenLoop,
  runLiveLoad,
  type Lanes,
  type QueuedSend,
  type Receiver,
} from '../lib/open-loop';
import { GrowableBytes, sleep } from '../lib/stats';
import type { LiveLoadResult } from './live-load';
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

const SEND_TIMEOUT_MS = 15_000;

interface Worker extends Receiver {
  agent: McpAgent;
  client: Client | null;
}

interface Planner {
  agent: McpAgent;
  client: Client | null;
  busy: boolean;
  queue: QueuedSend[];
}

/** Send `seq` goes out on the planner of pair `seq % pairs`, one at a time per planner. */
class PlannerLanes implements Lanes<Planner> {
  private queued = 0;

  constructor(readonly all: readonly Planner[]) {}

  get waiting(): number {
    return this.queued;
  }

  take(seq: number): Planner | undefined {
    const planner = this.all[seq % this.all.length];
    if (planner.busy) return undefined;
    planner.busy = true;
    return planner;
  }

  wait(send: QueuedSend): void {
    this.all[send.seq % this.all.length].queue.push(send);
    this.queued += 1;
  }

  next(planner: Planner): QueuedSend | undefined {
    const next = planner.queue.shift();
    if (next === undefined) planner.busy = false;
    else this.queued -= 1;
    return next;
  }
}

class McpLive {
  private readonly workers: Worker[];
  private readonly planners: Planner[];
  readonly loop: OpenLoop<Planner>;
  private readonly waitLoops: Array<Promise<void>> = [];
  private readonly probes = { acknowledged: 0, refused: 0, unanswered: 0 };
  private waits = 0;
  private waitTimeouts = 0;

  constructor(private readonly request: McpLiveRequest) {
    this.workers = request.pairs.map((pair, index) => ({
      target: index,
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
    this.loop = new OpenLoop({
      request: {
        ...request,
        sending: { kind: 'paced', perSecond: request.perSecond, connections: request.pairs.length },
      },
      lanes: new PlannerLanes(this.planners),
      send: (seq, phase, planner, dueAt) => this.send(seq, phase, planner, dueAt),
      receivers: this.workers.map((worker) => [worker]),
    });
  }

  private receive(worker: Worker, to: string, body: string, now: number): void {
    if (body.startsWith('p:')) {
      worker.probed = true;
      return;
    }
    const seq = Number(body.slice(2, body.indexOf(':', 2)));
    if (to !== worker.agent.mailbox || this.loop.target(seq) !== worker.target) {
      this.loop.misroute();
      return;
    }
    this.loop.delivered(seq, worker.counts, now);
  }

  /** One worker's loop: a new wait as soon as the last one answered, until closing. */
  private async waitLoop(worker: Worker, client: Client): Promise<void> {
    const timeoutS = this.request.waitTimeoutS;
    while (!this.loop.closing) {
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
          this.loop.receiverError(`wait_for_message refused: ${errorText(result)}`);
          await sleep(100);
          continue;
        }
      } catch (error) {
        if (this.loop.closing) return;
        this.loop.receiverError(`wait_for_message failed: ${(error as Error).message}`);
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
      this.waitLoops.push(this.waitLoop(worker, client));
    });
    return this.loop.probeUntilLive(
      started,
      (waiting) =>
        Promise.all(
          waiting.map(async (pair) => {
            const result = await callTool(
              this.planners[pair].client as Client,
              'send_message',
              {
                to: this.workers[pair].agent.mailbox,
                body: padded(this.loop.probeHead(), this.request.contentBytes),
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
        ),
      { failed: 'waits failed', notLive: 'workers still not waiting', shown: 3 },
    );
  }

  private send(seq: number, phase: number, planner: Planner, dueAt: number | null): Promise<void> {
    const pair = seq % this.workers.length;
    const args = {
      to: this.workers[pair].agent.mailbox,
      body: padded(`m:${seq}:`, this.request.contentBytes),
    };
    return this.loop.attempt(
      seq,
      pair,
      phase,
      dueAt,
      () => callTool(planner.client as Client, 'send_message', args, SEND_TIMEOUT_MS),
      (result) => (sendAcknowledged(result) ? null : errorText(result)),
    );
  }

  result(readyMs: number): McpLiveResult {
    return {
      ...this.loop.result(readyMs),
      probes: this.probes,
      waits: this.waits,
      waitTimeouts: this.waitTimeouts,
    };
  }

  async close(): Promise<void> {
    this.loop.closing = true;
    // Closing a client aborts its wait in flight; the service then ends the wait.
    const clients = [...this.workers, ...this.planners]
      .map((side) => side.client)
      .filter((client): client is Client => client !== null);
    await closeAll(clients);
    await Promise.all(this.waitLoops);
  }
}

runLiveLoad<McpLiveRequest, McpLiveResult>((request) => new McpLive(request));
