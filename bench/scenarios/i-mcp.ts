/**
 * i. MCP: what the /mcp front door (Streamable HTTP, stateless, the official SDK client with
 * a mailbox token) costs per message, beside GraphQL on the same service:
 *
 * - send to wait: 20 worker agents loop on `wait_for_message`, 20 planners send DIRECT
 *   messages to them with `send_message` at 50 a second in all; latency from just before
 *   the send call to the wait's answer at the worker. Baseline: sendMessage over HTTP and a
 *   graphql-ws mailboxMessages subscriber per mailbox, at the same pace (live-load.ts, as d).
 * - send throughput: `send_message` from 32 SDK clients, each with the next call as soon as
 *   the last answered; baseline: sendMessage over 32 keep-alive HTTP connections (as a).
 * - 1,000 concurrent waits, one per mailbox, in a fresh service: its RSS (VmRSS) while they
 *   all wait against its RSS just before, both after a full collection; then one message to
 *   every mailbox.
 *
 * The first two measure MCP and GraphQL in alternating rounds (MCP, GraphQL, GraphQL, MCP),
 * each round a load process of its own, as d does.
 */
import WebSocket from 'ws';
import type { HttpLoadPhase, HttpLoadPhaseResult, HttpLoadRequest } from '../clients/http-load';
import type { LiveLoadRequest, LiveLoadResult } from '../clients/live-load';
import type { McpAgent } from '../clients/mcp-client';
import type { McpLiveRequest, McpLiveResult } from '../clients/mcp-live';
import type { McpSendPhase, McpSendRequest } from '../clients/mcp-send';
import type { McpWaitsRequest, McpWaitsResult } from '../clients/mcp-waits';
import {
  mailboxMessagesKey,
  storedCountCheck,
  storedExactlyOnce,
  type SendCounts,
} from '../lib/checks';
import {
  ChildHandle,
  pooledCpu,
  runMeasuredChild,
  terminate,
  type ChildMessage,
  type Measured,
} from '../lib/children';
import type { BenchContext, Scenario } from '../lib/context';
import { describeCpu } from '../lib/cpu';
import { padded } from '../lib/bodies';
import {
  BENCH_SENDER,
  directInput,
  graphqlOk,
  mailboxNames,
  registerMailboxes,
  sendMessageBody,
} from '../lib/graphql';
import { forEachLimited } from '../lib/live-feed';
import { figure, MB, type Check, type ScenarioOutcome } from '../lib/report';
import { freePort } from '../lib/redis-server';
import { KEY_PREFIX, ServiceProcess } from '../lib/service';
import { LatencyRecorder, sleep } from '../lib/stats';
import { CONTENT_BYTES, perSecond } from './a-ingress';
import {
  deliveredExactlyOnce,
  LIVE_CONTENT_BYTES,
  LIVE_ROUNDS,
  pacingNote,
  poolLiveRuns,
} from './live';

const ID = 'i';
/** Planner and worker pairs of the send-to-wait figure (a mailbox each). */
export const PAIRS = 20;
/**
 * Modest: at 200 a second the service (then building every tool's schemas for each request)
 * was saturated on the 2-core reference machine, and the figure measured its queue.
 */
export const SENDS_PER_SECOND = 50;
/** The workers' wait_for_message timeout_s. */
const WAIT_TIMEOUT_S = 20;
/** SDK clients (GraphQL connections) sending at once in the throughput figure. */
export const SEND_CLIENTS = 32;
export const WAITS = 1_000;
/** The longest wait the service allows (MAX_WAIT_S), so that none ends while measured. */
const MEMORY_WAIT_TIMEOUT_S = 45;
/** The warm-up of every round after a kind's first, whose warm-up is the run's. */
const LATER_WARMUP_MS = 1_000;
/** Let the process settle before reading its RSS. */
const SETTLE_MS = 2_000;

type Kind = 'mcp' | 'graphql';

const n = (value: number): string => value.toLocaleString('en-US');
const mb = (bytes: number | undefined): string =>
  bytes === undefined ? 'n/a' : (bytes / MB).toFixed(1);

/** MCP, GraphQL, GraphQL, MCP, ...: the order of the alternating rounds. */
function roundOrder(round: number): Kind[] {
  return round % 2 === 0 ? ['mcp', 'graphql'] : ['graphql', 'mcp'];
}

/** Registers mailboxes (25 aliased registerMailbox fields a request) and keeps their tokens. */
async function registerAgents(baseUrl: string, names: string[]): Promise<McpAgent[]> {
  const tokens = new Map<string, string>();
  const groups: string[][] = [];
  for (let i = 0; i < names.length; i += 25) groups.push(names.slice(i, i + 25));
  await forEachLimited(groups, 8, async (group) => {
    const fields = group
      .map((name, i) => `r${i}: registerMailbox(name: ${JSON.stringify(name)}) { token }`)
      .join('\n');
    const data = await graphqlOk<Record<string, { token: string }>>(
      baseUrl,
      `mutation {\n${fields}\n}`,
    );
    group.forEach((name, i) => tokens.set(name, data[`r${i}`].token));
  });
  return names.map((mailbox) => ({ mailbox, token: tokens.get(mailbox) as string }));
}

function sumOf<T>(items: T[], of: (item: T) => number): number {
  return items.reduce((sum, item) => sum + of(item), 0);
}

function pooledSummary(samples: Array<number[] | undefined>): LatencyRecorder {
  const recorder = new LatencyRecorder();
  for (const list of samples) for (const value of list ?? []) recorder.record(value);
  return recorder;
}

/** Measured send phases of several rounds in one: counts and windows added, latencies pooled. */
function poolSends(runs: Array<Measured<HttpLoadPhaseResult>>): Measured<HttpLoadPhaseResult> {
  const rounds = runs.map((run) => run.result);
  const cpuMs = pooledCpu(runs);
  const total = (key: keyof HttpLoadPhaseResult): number =>
    sumOf(rounds, (round) => round[key] as number);
  return {
    cpuMs,
    result: {
      name: 'measure',
      windowMs: total('windowMs'),
      requestsInWindow: total('requestsInWindow'),
      messagesInWindow: total('messagesInWindow'),
      messagesAcknowledged: total('messagesAcknowledged'),
      messagesRefused: total('messagesRefused'),
      requestsFailed: total('requestsFailed'),
      requestsUnknown: total('requestsUnknown'),
      latency: pooledSummary(rounds.map((round) => round.samples)).summary(),
      errors: rounds.flatMap((round) => round.errors).slice(0, 5),
    },
  };
}

/**
 * Every acknowledged send to `mailboxes` (all phases, probes included) is stored once: their
 * messages zsets hold as many as were acknowledged, up to the unanswered ones more.
 */
async function storedInAll(
  context: BenchContext,
  name: string,
  mailboxes: string[],
  sends: SendCounts,
): Promise<Check> {
  const pipeline = context.redis.client.pipeline();
  for (const mailbox of mailboxes) pipeline.zcard(mailboxMessagesKey(mailbox));
  const replies = (await pipeline.exec()) ?? [];
  const stored = sumOf(replies, ([, count]) => Number(count));
  return storedCountCheck(
    ID,
    name,
    sends,
    stored,
    `ZCARD of ${n(mailboxes.length)} mailboxes, ${mailboxMessagesKey(mailboxes[0])} ...`,
  );
}

interface SendToWait {
  mcp: Measured<LiveLoadResult>;
  graphql: Measured<LiveLoadResult>;
  mcpRounds: McpLiveResult[];
  stored: Check;
}

/** Figure 1: send to wait over MCP, and send to subscriber over GraphQL, in alternating rounds. */
async function sendToWait(context: BenchContext, service: ServiceProcess): Promise<SendToWait> {
  const { warmupMs, durationMs } = context.options;
  const graphqlMailboxes = mailboxNames('bench-i-gql', PAIRS);
  await registerMailboxes(service.baseUrl, [BENCH_SENDER, ...graphqlMailboxes]);
  // Fresh mailboxes every MCP round: a wait cut off at the end of a round holds its mailbox's
  // lock until the service has seen the connection go.
  const pairsOfRound: McpLiveRequest['pairs'][] = [];
  for (let round = 0; round < LIVE_ROUNDS; round++) {
    const planners = await registerAgents(
      service.baseUrl,
      mailboxNames(`bench-i-r${round}-planner`, PAIRS),
    );
    const workers = await registerAgents(
      service.baseUrl,
      mailboxNames(`bench-i-r${round}-worker`, PAIRS),
    );
    pairsOfRound.push(planners.map((planner, i) => ({ planner, worker: workers[i] })));
  }
  const watch = { service: service.pid, redis: context.redis.pid };
  const runs: Record<Kind, Array<Measured<LiveLoadResult>>> = { mcp: [], graphql: [] };
  const mcpRounds: McpLiveResult[] = [];
  for (let round = 0; round < LIVE_ROUNDS; round++) {
    for (const kind of roundOrder(round)) {
      const common = {
        contentBytes: LIVE_CONTENT_BYTES,
        warmupMs: runs[kind].length === 0 ? warmupMs : Math.min(warmupMs, LATER_WARMUP_MS),
        durationMs: Math.round(durationMs / LIVE_ROUNDS),
        drainTimeoutMs: 15_000,
        keepSamples: true,
      };
      if (kind === 'mcp') {
        const request: McpLiveRequest = {
          ...common,
          baseUrl: service.baseUrl,
          pairs: pairsOfRound[mcpRounds.length],
          perSecond: SENDS_PER_SECOND,
          waitTimeoutS: WAIT_TIMEOUT_S,
        };
        const run = await runMeasuredChild<McpLiveResult>('clients/mcp-live.ts', request, watch);
        mcpRounds.push(run.result);
        runs.mcp.push(run);
      } else {
        const request: LiveLoadRequest = {
          ...common,
          host: '127.0.0.1',
          port: service.port,
          wsUrl: service.wsUrl,
          mailboxes: graphqlMailboxes,
          subscribersPerMailbox: 1,
          sending: { kind: 'paced', perSecond: SENDS_PER_SECOND, connections: PAIRS },
        };
        runs.graphql.push(
          await runMeasuredChild<LiveLoadResult>('clients/live-load.ts', request, watch),
        );
      }
    }
  }
  const stored = await storedInAll(
    context,
    'stored exactly once (MCP send_message to waiting workers)',
    pairsOfRound.flatMap((pairs) => pairs.map((pair) => pair.worker.mailbox)),
    {
      acknowledged: sumOf(
        mcpRounds,
        (r) => r.exactlyOnce.messagesAcknowledged + r.probes.acknowledged,
      ),
      refused: sumOf(mcpRounds, (r) => r.exactlyOnce.messagesRefused + r.probes.refused),
      unanswered: sumOf(mcpRounds, (r) => r.exactlyOnce.messagesUnanswered + r.probes.unanswered),
    },
  );
  return { mcp: poolLiveRuns(runs.mcp), graphql: poolLiveRuns(runs.graphql), mcpRounds, stored };
}

interface Throughput {
  mcp: Measured<HttpLoadPhaseResult>;
  graphql: Measured<HttpLoadPhaseResult>;
}

/** Figure 2: send_message at saturation over MCP, sendMessage over GraphQL, alternating. */
async function throughput(context: BenchContext, service: ServiceProcess): Promise<Throughput> {
  const { warmupMs, durationMs } = context.options;
  const roundMs = Math.max(1000, Math.round(durationMs / LIVE_ROUNDS));
  await registerMailboxes(service.baseUrl, [
    'bench-i-gql-send',
    'bench-i-gql-send-warmup',
    'bench-i-mcp-send',
    'bench-i-mcp-send-warmup',
  ]);
  const senders = await registerAgents(
    service.baseUrl,
    mailboxNames('bench-i-sender', SEND_CLIENTS),
  );
  const watch = { service: service.pid, redis: context.redis.pid };
  const runs: Record<Kind, Array<Measured<HttpLoadPhaseResult>>> = { mcp: [], graphql: [] };
  for (let round = 0; round < LIVE_ROUNDS; round++) {
    for (const kind of roundOrder(round)) {
      const warm = runs[kind].length === 0 && warmupMs > 0;
      if (kind === 'mcp') {
        const phases: McpSendPhase[] = [];
        if (warm)
          phases.push({ name: 'warmup', durationMs: warmupMs, target: 'bench-i-mcp-send-warmup' });
        phases.push({
          name: 'measure',
          durationMs: roundMs,
          target: 'bench-i-mcp-send',
          keepSamples: true,
        });
        const request: McpSendRequest = {
          baseUrl: service.baseUrl,
          senders,
          contentBytes: CONTENT_BYTES,
          phases,
          requestTimeoutMs: 15_000,
        };
        const run = await runMeasuredChild<HttpLoadPhaseResult[]>(
          'clients/mcp-send.ts',
          request,
          watch,
        );
        runs.mcp.push({ result: run.result[run.result.length - 1], cpuMs: run.cpuMs });
      } else {
        const body = (mailbox: string): string =>
          sendMessageBody(directInput(mailbox, padded(`bench ${mailbox} `, CONTENT_BYTES)));
        const phases: HttpLoadPhase[] = [];
        if (warm)
          phases.push({
            name: 'warmup',
            durationMs: warmupMs,
            body: body('bench-i-gql-send-warmup'),
            messagesPerRequest: 1,
          });
        phases.push({
          name: 'measure',
          durationMs: roundMs,
          body: body('bench-i-gql-send'),
          messagesPerRequest: 1,
          keepSamples: true,
        });
        const request: HttpLoadRequest = {
          host: '127.0.0.1',
          port: service.port,
          connections: SEND_CLIENTS,
          requestTimeoutMs: 15_000,
          phases,
        };
        const run = await runMeasuredChild<HttpLoadPhaseResult[]>(
          'clients/http-load.ts',
          request,
          watch,
        );
        runs.graphql.push({ result: run.result[run.result.length - 1], cpuMs: run.cpuMs });
      }
    }
  }
  return { mcp: poolSends(runs.mcp), graphql: poolSends(runs.graphql) };
}

/** Of `mailboxes`, how many hold their wait lock, and how many feeds Redis has a subscriber for. */
async function waitingCount(
  context: BenchContext,
  mailboxes: string[],
): Promise<{ locks: number; subscribed: number }> {
  const client = context.redis.client;
  const locks = await client.exists(
    ...mailboxes.map((mailbox) => `${KEY_PREFIX}mailbox:{${mailbox}}:wait`),
  );
  const numsub = (await client.call(
    'PUBSUB',
    'NUMSUB',
    ...mailboxes.map((mailbox) => `${KEY_PREFIX}mailbox:{${mailbox}}:feed`),
  )) as Array<string | number>;
  let subscribed = 0;
  for (let i = 1; i < numsub.length; i += 2) if (Number(numsub[i]) > 0) subscribed += 1;
  return { locks, subscribed };
}

/** RSS readings of the waits figure: as found, and after a full collection. */
interface Reading {
  rss: number;
  collectedRss: number;
  /** V8 heap used after the collection (the service's /metrics). */
  collectedHeapUsed: number;
}

interface ManyWaits {
  /** The fresh service, before anything reached it. */
  idle: Reading;
  /** Every client connected, no wait yet. */
  before: Reading;
  /** Every wait in place. */
  waiting: Reading;
  afterCheckRss: number;
  /** From the word to start the waits until every one held its lock and its feed. */
  waitingAfterMs: number;
  /** Counted as the figure was read. */
  atMeasure: { locks: number; subscribed: number };
  result: McpWaitsResult;
  stored: Check;
  problems: string[];
}

/**
 * Asks the process listening for the inspector protocol on `port` for a full garbage
 * collection (HeapProfiler.collectGarbage), and resolves once it is done.
 */
async function collectGarbage(port: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${port}/json/list`);
  const [target] = (await response.json()) as Array<{ webSocketDebuggerUrl: string }>;
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.on('message', (data: Buffer) => {
        const reply = JSON.parse(data.toString()) as { id?: number; error?: { message: string } };
        if (reply.error) reject(new Error(`collectGarbage: ${reply.error.message}`));
        else if (reply.id === 1) resolve();
      });
      socket.once('open', () =>
        socket.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' })),
      );
    });
  } finally {
    // A session still attached would keep the service from exiting when it is stopped.
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.close();
    await closed;
  }
}

async function reading(service: ServiceProcess, inspectPort: number): Promise<Reading> {
  const rss = service.rssBytes();
  await collectGarbage(inspectPort);
  const collectedRss = service.rssBytes();
  const metrics = await service.memoryMetrics();
  return {
    rss,
    collectedRss,
    collectedHeapUsed: metrics.nodejs_heap_size_used_bytes ?? NaN,
  };
}

/**
 * Figure 3: 1,000 waits at once in a fresh service, its RSS before and while they wait.
 * Both readings follow a full collection, asked for over the inspector protocol (the service
 * for this figure listens for it on a free loopback port): left to V8's own timing, the
 * figure follows whichever garbage was collected when (the 2,002 connect requests', the
 * 1,000 calls'), and two runs of one build read -16 and +16 MB as found.
 */
async function manyWaits(context: BenchContext): Promise<ManyWaits> {
  context.log('starting a fresh service for the concurrent waits');
  const inspectPort = await freePort();
  const service = await ServiceProcess.start(context.redis.url, {
    NODE_OPTIONS: `--inspect=127.0.0.1:${inspectPort}`,
  });
  try {
    await sleep(SETTLE_MS);
    const idle = await reading(service, inspectPort);
    const mailboxes = mailboxNames('bench-i-wait', WAITS);
    context.log(`registering ${n(WAITS)} mailboxes`);
    const agents = await registerAgents(service.baseUrl, mailboxes);
    const [sender] = await registerAgents(service.baseUrl, ['bench-i-wait-sender']);
    const request: McpWaitsRequest = {
      baseUrl: service.baseUrl,
      agents,
      sender,
      timeoutS: MEMORY_WAIT_TIMEOUT_S,
    };
    const child = ChildHandle.start('clients/mcp-waits.ts', request);
    try {
      await child.next('connected', 180_000);
      await sleep(SETTLE_MS);
      const before = await reading(service, inspectPort);
      context.log(
        `${n(WAITS)} concurrent wait_for_message calls, timeout_s ${MEMORY_WAIT_TIMEOUT_S}`,
      );
      const started = Date.now();
      child.send({ type: 'start-waits' });
      await child.next<ChildMessage>('waits-sent', 60_000);
      // Waiting: the wait holds its mailbox's lock and Redis has the mailbox's feed subscribed.
      // The figure is read well inside timeout_s, so that no wait can have ended.
      const deadline = started + 20_000;
      let count = await waitingCount(context, mailboxes);
      while ((count.locks < WAITS || count.subscribed < WAITS) && Date.now() < deadline) {
        await sleep(100);
        count = await waitingCount(context, mailboxes);
      }
      const waitingAfterMs = Date.now() - started;
      if (count.locks < WAITS || count.subscribed < WAITS)
        throw new Error(
          `after 20 s only ${count.locks} waits hold their lock, ${count.subscribed} feeds are subscribed`,
        );
      await sleep(SETTLE_MS);
      const waiting = await reading(service, inspectPort);
      const atMeasure = await waitingCount(context, mailboxes);
      context.log('checking every wait with one message each');
      child.send({ type: 'check' });
      const result = await child.result<McpWaitsResult>(120_000);
      const afterCheckRss = service.rssBytes();
      const stored = await storedInAll(
        context,
        'stored exactly once (MCP send_message to the waiting mailboxes)',
        mailboxes,
        {
          acknowledged: result.acknowledged,
          refused: result.refused,
          unanswered: result.unanswered,
        },
      );
      return {
        idle,
        before,
        waiting,
        afterCheckRss,
        waitingAfterMs,
        atMeasure,
        result,
        stored,
        problems: service.problemsSinceReady(),
      };
    } finally {
      await terminate(child.process);
    }
  } finally {
    await service.stop();
  }
}

export const mcp: Scenario = {
  id: ID,
  name: 'mcp',
  async run(context): Promise<ScenarioOutcome> {
    context.log('starting the service');
    const service = await context.startService();
    let latency: SendToWait;
    let sends: Throughput;
    let problems: string[];
    try {
      context.log(
        `send to wait: ${PAIRS} MCP planner/worker pairs against ${PAIRS} graphql-ws subscribers, ${SENDS_PER_SECOND} sends/s, ${LIVE_ROUNDS} alternating rounds each`,
      );
      latency = await sendToWait(context, service);
      context.log(
        `send throughput: ${SEND_CLIENTS} MCP clients against ${SEND_CLIENTS} GraphQL connections, ${LIVE_ROUNDS} alternating rounds each`,
      );
      sends = await throughput(context, service);
      problems = service.problemsSinceReady();
    } finally {
      await service.stop();
    }
    const waits = await manyWaits(context);

    const mcpLive = latency.mcp.result;
    const graphqlLive = latency.graphql.result;
    const mcpSend = sends.mcp.result;
    const graphqlSend = sends.graphql.result;
    const mcpStored = await storedExactlyOnce(
      context,
      ID,
      'bench-i-mcp-send',
      mcpSend.messagesAcknowledged,
      mcpSend.messagesRefused,
      mcpSend.requestsUnknown,
    );
    const graphqlStored = await storedExactlyOnce(
      context,
      ID,
      'bench-i-gql-send',
      graphqlSend.messagesAcknowledged,
      graphqlSend.messagesRefused,
      graphqlSend.requestsUnknown,
    );
    const w = waits.result;
    const waitsCheck: Check = {
      scenario: ID,
      name: `${n(WAITS)} concurrent waits, each answered with exactly its message`,
      ok:
        waits.atMeasure.locks === WAITS &&
        waits.atMeasure.subscribed === WAITS &&
        w.endedBeforeCheck === 0 &&
        w.acknowledged === WAITS &&
        w.deliveredOnce === WAITS &&
        w.missing === 0 &&
        w.duplicates === 0 &&
        w.misrouted === 0,
      detail:
        `when measured ${n(waits.atMeasure.locks)} wait locks held, ${n(waits.atMeasure.subscribed)} ` +
        `feeds subscribed in Redis, ${n(w.endedBeforeCheck)} waits ended early; ` +
        `${n(w.acknowledged)} messages acknowledged, ${n(w.deliveredOnce)} waits answered with ` +
        `exactly their message, ${n(w.missing)} missing, ${n(w.duplicates)} duplicated, ` +
        `${n(w.misrouted)} misrouted` +
        (w.waitErrors.length > 0 ? `; errors: ${w.waitErrors.slice(0, 3).join('; ')}` : ''),
    };
    const increase = (waits.waiting.collectedRss - waits.before.collectedRss) / MB;
    const what = `mcp send-to-wait ${PAIRS} pairs, ${SENDS_PER_SECOND}/s, ${LIVE_CONTENT_BYTES} B`;
    const base = 'GraphQL + graphql-ws';
    const sendBase = `GraphQL sendMessage, ${SEND_CLIENTS} conns`;
    const mcpRounds = latency.mcpRounds;
    return {
      figures: [
        figure(
          ID,
          `${what}, p50`,
          mcpLive.latency.p50,
          'ms',
          { label: base, value: graphqlLive.latency.p50 },
          // No target: a wait answers with a whole message and marks it read; see the README.
          null,
          {
            mcp: mcpLive,
            graphql: graphqlLive,
            mcpWaits: sumOf(mcpRounds, (r) => r.waits),
            mcpWaitTimeouts: sumOf(mcpRounds, (r) => r.waitTimeouts),
            mcpCpuMs: latency.mcp.cpuMs,
            graphqlCpuMs: latency.graphql.cpuMs,
          },
        ),
        figure(
          ID,
          `${what}, p99`,
          mcpLive.latency.p99,
          'ms',
          { label: base, value: graphqlLive.latency.p99 },
          null,
        ),
        figure(
          ID,
          `mcp send_message 1 KiB, ${SEND_CLIENTS} clients`,
          perSecond(mcpSend.messagesInWindow, mcpSend.windowMs),
          'msg/s',
          { label: sendBase, value: perSecond(graphqlSend.messagesInWindow, graphqlSend.windowMs) },
          null,
          {
            mcp: mcpSend,
            graphql: graphqlSend,
            mcpCpuMs: sends.mcp.cpuMs,
            graphqlCpuMs: sends.graphql.cpuMs,
          },
        ),
        figure(
          ID,
          `mcp ${n(WAITS)} concurrent waits, RSS increase`,
          increase,
          'MB',
          { label: 'service before the waits', value: waits.before.collectedRss / MB },
          { on: 'value', op: '<', value: 100 },
          {
            idle: waits.idle,
            before: waits.before,
            waiting: waits.waiting,
            rssAfterCheckBytes: waits.afterCheckRss,
            bytesPerWait: (waits.waiting.collectedRss - waits.before.collectedRss) / WAITS,
            waitingAfterMs: waits.waitingAfterMs,
            check: w,
          },
        ),
      ],
      checks: [
        mcpStored,
        graphqlStored,
        latency.stored,
        deliveredExactlyOnce(ID, 'MCP wait_for_message', mcpLive),
        deliveredExactlyOnce(ID, 'GraphQL baseline', graphqlLive),
        waits.stored,
        waitsCheck,
      ],
      notes: [
        describeCpu(
          'send_message over MCP',
          sends.mcp.cpuMs,
          mcpSend.messagesAcknowledged,
          'message',
        ),
        describeCpu(
          'sendMessage over GraphQL',
          sends.graphql.cpuMs,
          graphqlSend.messagesAcknowledged,
          'message',
        ),
        `${n(WAITS)} waits, RSS after a full collection (as found): fresh service ` +
          `${mb(waits.idle.collectedRss)} (${mb(waits.idle.rss)}) MB; ${n(WAITS + 1)} clients ` +
          `connected ${mb(waits.before.collectedRss)} (${mb(waits.before.rss)}) MB; all waiting ` +
          `${mb(waits.waiting.collectedRss)} (${mb(waits.waiting.rss)}) MB, ` +
          `${n(Math.round((waits.waiting.collectedRss - waits.before.collectedRss) / WAITS))} bytes ` +
          `per wait; V8 heap used ${mb(waits.before.collectedHeapUsed)} -> ` +
          `${mb(waits.waiting.collectedHeapUsed)} MB; all waiting ` +
          `${(waits.waitingAfterMs / 1000).toFixed(1)} s after the calls began; RSS after the check ` +
          `${mb(waits.afterCheckRss)} MB`,
        pacingNote('MCP send_message', mcpLive, SENDS_PER_SECOND),
        pacingNote('GraphQL sendMessage', graphqlLive, SENDS_PER_SECOND),
        `send-to-wait: MCP and GraphQL measured in ${LIVE_ROUNDS} alternating rounds of ` +
          `${(mcpLive.windowMs / LIVE_ROUNDS / 1000).toFixed(1)} s each; send round trip p50 ` +
          `${mcpLive.sendLatency.p50.toFixed(2)} ms (MCP) vs ${graphqlLive.sendLatency.p50.toFixed(2)} ms; ` +
          `${n(sumOf(mcpRounds, (r) => r.waits))} waits answered, ` +
          `${n(sumOf(mcpRounds, (r) => r.waitTimeouts))} with "timeout"`,
        describeCpu(
          'send-to-wait over MCP',
          latency.mcp.cpuMs,
          mcpLive.measuredAcknowledged,
          'message',
        ),
        describeCpu(
          'send-to-wait over GraphQL',
          latency.graphql.cpuMs,
          graphqlLive.measuredAcknowledged,
          'message',
        ),
        `send throughput: latency p50 ${mcpSend.latency.p50.toFixed(2)} ms, p99 ` +
          `${mcpSend.latency.p99.toFixed(2)} ms (MCP) vs p50 ${graphqlSend.latency.p50.toFixed(2)} ms, ` +
          `p99 ${graphqlSend.latency.p99.toFixed(2)} ms (GraphQL)`,
        ...mcpSend.errors.map((error) => `MCP send error: ${error}`),
        ...graphqlSend.errors.map((error) => `GraphQL send error: ${error}`),
        ...mcpLive.sendErrors.map((error) => `MCP send-to-wait send error: ${error}`),
        ...graphqlLive.sendErrors.map((error) => `GraphQL send-to-wait send error: ${error}`),
        ...w.sendErrors.map((error) => `waits check send error: ${error}`),
        ...problems.map((line) => `service log: ${line}`),
        ...waits.problems.map((line) => `service log (waits): ${line}`),
      ],
    };
  },
};
