/**
 * w1..w4. The service against the brokers a user would otherwise reach for, in the same run:
 * RabbitMQ, NATS JetStream and BullMQ, with 1 KiB messages and comparable durability (the
 * service and BullMQ on Redis with an AOF fsynced every second, RabbitMQ's durable queues
 * with persistent messages and publisher confirms, JetStream's file storage; README, "Peer
 * workloads"). Each workload runs the service and every reachable peer in alternating
 * rounds (lib/peers/rounds.ts); each figure is the median of its system's rounds.
 *
 * - w1: single sends to an offline mailbox (a queue or stream nobody consumes), 50 in flight.
 * - w2: batches of 100, 8 in flight.
 * - w3: 100 live receivers, 1,000 sends/s round-robin: send-to-receipt p50 and p99.
 * - w4: fan-out to 100 live consumers at saturation: deliveries/s (BullMQ has no fan-out).
 *
 * Every workload also runs the service over graphql-ws: the same mutations on a few
 * WebSockets, as an agent that holds one for its feed sends (clients/ws-send.ts for w1 and
 * w2, clients/live-load.ts with its graphql-ws transport for w3 and w4).
 */
import { cpus } from 'node:os';
import type { HttpLoadPhase, HttpLoadPhaseResult, HttpLoadRequest } from '../clients/http-load';
import type { LiveLoadRequest, LiveLoadResult, Sending } from '../clients/live-load';
import type { PeerIngressPhase, PeerIngressRequest } from '../clients/peers/peer-ingress';
import type { PeerLiveRequest } from '../clients/peers/peer-live';
import type { WsSendRequest } from '../clients/ws-send';
import { mailboxMessagesKey, storedCountCheck } from '../lib/checks';
import { pooledCpu, runMeasuredChild, type Measured } from '../lib/children';
import type { BareServer, BenchContext, Scenario } from '../lib/context';
import { padded } from '../lib/bodies';
import {
  BENCH_SENDER,
  directInput,
  mailboxNames,
  sendMessageBody,
  sendMessagesBody,
} from '../lib/graphql';
import { startPeerEnvironment, type PeerEnvironment } from '../lib/peers/environment';
import { PEER_IDS, type LiveTopology, type PeerId } from '../lib/peers/peers';
import {
  alternatingRounds,
  asPeer,
  bestPeerFigure,
  budgetNote,
  cpuNote,
  failedPeerCheck,
  median,
  medians,
  PEER_ROUNDS,
  roundLength,
  roundsNote,
  SYSTEM_LABELS,
  workloadFigures,
  type RoundSystem,
  type ServiceFront,
  type SystemCpu,
  type SystemRuns,
} from '../lib/peers/rounds';
import { formatNumber, type Check, type Figure, type ScenarioOutcome } from '../lib/report';
import { sendingLanes } from '../lib/send-transports';
import { INGRESS_CONNECTIONS, perSecond } from './a-ingress';
import { BATCH_CONNECTIONS, BATCH_SIZE } from './b-batch-ingress';
import { MAILBOXES, SENDS_PER_SECOND } from './d-end-to-end';
import { SUBSCRIBERS } from './e-fan-out';
import { deliveredExactlyOnce, pacingNote, poolLive } from './live';

/** Every message of the peer workloads, for the service and the peers alike. */
export const PEER_CONTENT_BYTES = 1024;
/** w3's sends awaiting their acknowledgement at most (d's 32 HTTP connections). */
const LIVE_SENDING: Sending = { kind: 'paced', perSecond: SENDS_PER_SECOND, connections: 32 };
/** w4's sends in flight (e's). */
const FAN_OUT_SENDING: Sending = { kind: 'saturate', inFlight: 8 };
/** w4, peers: sends wait while this many messages have not reached every consumer. */
const FAN_OUT_MAX_UNDELIVERED = 500;
/**
 * The service over graphql-ws: at most this many WebSockets carry the sends in flight.
 * A few, as agents that each hold one for their feed would send, rather than one per send
 * in flight as HTTP/1.1 needs: graphql-ws multiplexes operations on a socket.
 */
const WS_SOCKETS = 4;

/**
 * The send sockets for `lanes` sends in flight at most (the HTTP connections of the same
 * workload): as many as the lanes, at most WS_SOCKETS, which every workload reaches (w1 50
 * lanes, w2 8, w3 32, w4 8), so every graphql-ws line is measured on 4 sockets. The lanes
 * stay the HTTP connections' count, spread over the sockets, so only the transport differs.
 * More sockets would not help w3: at 1,000 sends/s about one send is in flight at a time,
 * and one socket would already carry them; w4 keeps its 8 in flight, 2 on each socket.
 * With BENCH_WORKERS above 4 the sends reach at most 4 of the service's workers (a socket
 * stays on the worker it was handed to), where 32 HTTP connections reach them all.
 */
function wsSockets(lanes: number): number {
  return Math.min(lanes, WS_SOCKETS);
}

/** How the rounds ran and what the figures are, the first note of every workload. */
function methodNote(context: BenchContext, systems: RoundSystem[]): string {
  const order = systems.map((system) => SYSTEM_LABELS[system]).join(', ');
  return (
    `${PEER_ROUNDS} alternating rounds of ${(roundLength(context) / 1000).toFixed(1)} s per ` +
    `system (${order}, then reversed, then as first), each figure the median of its system's ` +
    `rounds; 1 KiB messages; ${cpus().length} cores shared by the system ` +
    'measured, its storage and the load generator'
  );
}

function lastPhase(run: Measured<HttpLoadPhaseResult[]>): HttpLoadPhaseResult {
  return run.result[run.result.length - 1];
}

/** The systems that ran, with their rounds, in the order measured. */
function completed<R, S extends RoundSystem>(
  runs: Map<S, SystemRuns<R>>,
): Array<[S, Measured<R>[]]> {
  return [...runs]
    .filter(([, outcome]) => outcome.error === null && outcome.rounds.length > 0)
    .map(([system, outcome]) => [system, outcome.rounds]);
}

function failures<R>(scenario: string, runs: Map<RoundSystem, SystemRuns<R>>): Check[] {
  return [...runs]
    .filter(([, outcome]) => outcome.error !== null)
    .map(([system, outcome]) => failedPeerCheck(scenario, system, outcome.error as string));
}

interface IngressWorkload {
  id: string;
  what: string;
  /** Sends (or batches) awaiting their acknowledgement at once. */
  lanes: number;
  messagesPerSend: number;
  requestTimeoutMs: number;
  /** The service's request body for a mailbox (a's and b's). */
  serviceBody(mailbox: string): string;
  ratioTarget: number;
}

/** Where a phase sends: the warm-up's and the measured phase's own mailbox or store. */
interface PhaseTargets {
  warmup: string;
  measure: string;
}

/**
 * The service's mailboxes of a workload, one pair per front door, so that each one's
 * exactly-once check counts only what it sent.
 */
function serviceMailboxes(id: string): Record<ServiceFront, PhaseTargets> {
  return {
    service: { warmup: `bench-${id}-warmup`, measure: `bench-${id}` },
    'service-ws': { warmup: `bench-${id}-ws-warmup`, measure: `bench-${id}-ws` },
  };
}

function isServiceFront(system: RoundSystem): system is ServiceFront {
  return system === 'service' || system === 'service-ws';
}

/**
 * w1 and w2: the service over HTTP (clients/http-load.ts) and over graphql-ws
 * (clients/ws-send.ts), the peers' own clients.
 */
async function runIngress(context: BenchContext, w: IngressWorkload): Promise<ScenarioOutcome> {
  const mailboxes = serviceMailboxes(w.id);
  const env = await startPeerEnvironment(
    context,
    [BENCH_SENDER, ...Object.values(mailboxes).flatMap(({ warmup, measure }) => [warmup, measure])],
    PEER_IDS,
  );
  const stores = {
    warmup: `bench-${w.id}-${env.runId}-warmup`,
    measure: `bench-${w.id}-${env.runId}`,
  };
  const notes: string[] = [];
  const checks: Check[] = [];
  const prepared: PeerId[] = [];
  let runs: Map<RoundSystem, SystemRuns<HttpLoadPhaseResult[]>>;
  let problems: string[];
  try {
    for (const [peer, admin] of env.admins) {
      await admin.prepareStores([stores.warmup, stores.measure]);
      prepared.push(peer);
    }
    const systems: RoundSystem[] = ['service', 'service-ws', ...env.admins.keys()];
    notes.push(methodNote(context, systems), ...env.notes);
    context.log(`${w.what}: ${systems.map((s) => SYSTEM_LABELS[s]).join(', ')}`);
    runs = await alternatingRounds(context, systems, (system, spec) =>
      ingressRound(env, w, system, spec, mailboxes, stores),
    );
    problems = env.problems();
    for (const [system, rounds] of completed(runs)) {
      const measured = rounds.map(lastPhase);
      const sum = (key: keyof HttpLoadPhaseResult): number =>
        measured.reduce((total, round) => total + (round[key] as number), 0);
      let stored: { count: number; source: string };
      if (isServiceFront(system)) {
        const key = mailboxMessagesKey(mailboxes[system].measure);
        const { client } = env.fronts[system].redis;
        stored = { count: await client.zcard(key), source: `ZCARD ${key}` };
      } else stored = await env.admins.get(asPeer(system))!.stored(stores.measure);
      checks.push(
        storedCountCheck(
          w.id,
          `stored exactly once (${SYSTEM_LABELS[system]})`,
          {
            acknowledged: sum('messagesAcknowledged'),
            refused: sum('messagesRefused'),
            unanswered: sum('requestsUnknown') * w.messagesPerSend,
          },
          stored.count,
          stored.source,
        ),
      );
    }
    checks.push(...failures(w.id, runs));
  } finally {
    for (const peer of prepared) {
      await env.admins
        .get(peer)!
        .removeStores([stores.warmup, stores.measure])
        .catch((error: Error) =>
          notes.push(`${SYSTEM_LABELS[peer]}: clean-up failed: ${error.message}`),
        );
    }
    await env.stop();
  }

  const done = completed(runs);
  const perRound = new Map<RoundSystem, number[]>(
    done.map(([system, rounds]) => [
      system,
      rounds.map((run) => perSecond(lastPhase(run).messagesInWindow, lastPhase(run).windowMs)),
    ]),
  );
  const figures = workloadFigures(perRound, {
    scenario: w.id,
    what: w.what,
    unit: 'msg/s',
    better: 'higher',
    target: { on: 'ratio', op: '>=', value: w.ratioTarget },
    details: {
      perRound: Object.fromEntries(perRound),
      measured: Object.fromEntries(done.map(([system, rounds]) => [system, rounds.map(lastPhase)])),
      cpuMs: Object.fromEntries(done.map(([system, rounds]) => [system, pooledCpu(rounds)])),
      stores,
    },
  });
  const cpu: SystemCpu[] = done.map(([system, rounds]) => ({
    system,
    cpuMs: pooledCpu(rounds),
    units: rounds.reduce((total, run) => total + lastPhase(run).messagesAcknowledged, 0),
  }));
  const budget = budgetNote(
    perRound,
    w.ratioTarget,
    cpus().length,
    cpu.filter(({ system }) => isServiceFront(system)),
  );
  notes.push(
    cpuNote(cpu, 'message'),
    ...(budget === null ? [] : [budget]),
    roundsNote('msg/s', perRound, (v) => formatNumber(v, 'msg/s')),
    ...done.flatMap(([system, rounds]) =>
      rounds
        .flatMap((run) => lastPhase(run).errors)
        .slice(0, 3)
        .map((error) => `${SYSTEM_LABELS[system]} error: ${error}`),
    ),
    ...problems.map((line) => `service log: ${line}`),
  );
  return { figures, checks, notes };
}

/** The service's phases of a round: the same request bodies over HTTP and over graphql-ws. */
function servicePhases(
  w: IngressWorkload,
  spec: { warmupMs: number; durationMs: number },
  mailboxes: PhaseTargets,
): HttpLoadPhase[] {
  const phases: HttpLoadPhase[] = [];
  const phase = (name: string, durationMs: number, mailbox: string): HttpLoadPhase => ({
    name,
    durationMs,
    body: w.serviceBody(mailbox),
    messagesPerRequest: w.messagesPerSend,
  });
  if (spec.warmupMs > 0) phases.push(phase('warmup', spec.warmupMs, mailboxes.warmup));
  phases.push(phase('measure', spec.durationMs, mailboxes.measure));
  return phases;
}

function ingressRound(
  env: PeerEnvironment,
  w: IngressWorkload,
  system: RoundSystem,
  spec: { warmupMs: number; durationMs: number },
  mailboxes: Record<ServiceFront, PhaseTargets>,
  stores: PhaseTargets,
): Promise<Measured<HttpLoadPhaseResult[]>> {
  if (system === 'service') {
    const request: HttpLoadRequest = {
      host: '127.0.0.1',
      port: env.fronts.service.service.port,
      connections: w.lanes,
      requestTimeoutMs: w.requestTimeoutMs,
      phases: servicePhases(w, spec, mailboxes.service),
    };
    return runMeasuredChild('clients/http-load.ts', request, env.watch.service);
  }
  if (system === 'service-ws') {
    const request: WsSendRequest = {
      wsUrl: env.fronts['service-ws'].service.wsUrl,
      sockets: wsSockets(w.lanes),
      lanes: w.lanes,
      requestTimeoutMs: w.requestTimeoutMs,
      phases: servicePhases(w, spec, mailboxes['service-ws']),
    };
    return runMeasuredChild('clients/ws-send.ts', request, env.watch['service-ws']);
  }
  const peer = asPeer(system);
  const phases: PeerIngressPhase[] = [];
  if (spec.warmupMs > 0)
    phases.push({ name: 'warmup', durationMs: spec.warmupMs, store: stores.warmup });
  phases.push({ name: 'measure', durationMs: spec.durationMs, store: stores.measure });
  const request: PeerIngressRequest = {
    peer,
    endpoints: env.endpoints,
    lanes: w.lanes,
    messagesPerSend: w.messagesPerSend,
    contentBytes: PEER_CONTENT_BYTES,
    requestTimeoutMs: w.requestTimeoutMs,
    phases,
  };
  return runMeasuredChild('clients/peers/peer-ingress.ts', request, env.watch[peer]);
}

/**
 * A live workload's mailboxes, one set per front door, so that each one's receivers and
 * exactly-once check see only its own sends: `count` of them, or one named for the workload.
 */
function liveMailboxes(id: string, count: number): Record<ServiceFront, string[]> {
  const named = (prefix: string): string[] =>
    count === 1 ? [prefix] : mailboxNames(prefix, count);
  return { service: named(`bench-${id}`), 'service-ws': named(`bench-${id}-ws`) };
}

interface LiveWorkload {
  id: string;
  peers: readonly PeerId[];
  /** The service's live load (clients/live-load.ts): d's or e's setup, per front door. */
  service: {
    mailboxes: Record<ServiceFront, string[]>;
    subscribersPerMailbox: number;
  };
  /** The same shape for the peers. */
  topology: Omit<LiveTopology, 'base'>;
  sending: Sending;
  maxUndelivered: number;
  drainTimeoutMs: number;
  /** Notes placed right after the systems' (peers left out and why). */
  notes: string[];
  figures(
    measured: Array<{ system: RoundSystem; rounds: LiveLoadResult[] }>,
    details: Record<string, unknown>,
  ): { figures: Figure[]; notes: string[] };
  /** CPU per what: a message (w3) or a delivery (w4). */
  unit: 'message' | 'delivery';
  /**
   * Measure the bare relay through Redis too (servers/redis-relay.ts) on these mailboxes,
   * with the service's HTTP sends: the shortest path through this architecture.
   */
  relayMailboxes?: string[];
}

/** The bare relay of a live workload, on the service's Redis. */
interface Relay {
  server: BareServer;
  watch: Record<string, number>;
}

/**
 * w3 and w4: the service's live load (clients/live-load.ts) sending over HTTP and over
 * graphql-ws, the peers' (peer-live.ts).
 */
async function runLive(context: BenchContext, w: LiveWorkload): Promise<ScenarioOutcome> {
  const env = await startPeerEnvironment(
    context,
    [BENCH_SENDER, ...Object.values(w.service.mailboxes).flat()],
    w.peers,
  );
  const notes: string[] = [];
  const checks: Check[] = [];
  let runs: Map<RoundSystem, SystemRuns<LiveLoadResult>>;
  let problems: string[];
  let relay: Relay | null = null;
  try {
    if (w.relayMailboxes) {
      const { redis } = env.fronts.service;
      const server = await context.startRelay(redis.url);
      relay = { server, watch: { server: server.pid, redis: redis.pid } };
    }
    const systems: RoundSystem[] = [
      'service',
      'service-ws',
      ...(relay ? (['relay'] as const) : []),
      ...env.admins.keys(),
    ];
    notes.push(methodNote(context, systems), ...env.notes, ...w.notes);
    runs = await alternatingRounds(context, systems, (system, spec) =>
      liveRound(env, w, system, spec, relay),
    );
    problems = env.problems();
  } finally {
    await relay?.server.stop();
    await env.stop();
  }
  const done = completed(runs);
  for (const [system, rounds] of done)
    checks.push(
      deliveredExactlyOnce(w.id, SYSTEM_LABELS[system], poolLive(rounds.map((r) => r.result))),
    );
  checks.push(...failures(w.id, runs));
  const pooled = Object.fromEntries(
    done.map(([system, rounds]) => [system, poolLive(rounds.map((r) => r.result))]),
  );
  const { figures, notes: figureNotes } = w.figures(
    done.map(([system, rounds]) => ({ system, rounds: rounds.map((run) => run.result) })),
    {
      pooled,
      cpuMs: Object.fromEntries(done.map(([system, rounds]) => [system, pooledCpu(rounds)])),
    },
  );
  notes.push(
    cpuNote(
      done.map(([system, rounds]) => ({
        system,
        cpuMs: pooledCpu(rounds),
        units: rounds.reduce(
          (total, run) =>
            total +
            (w.unit === 'message'
              ? run.result.measuredAcknowledged
              : run.result.deliveriesInWindow),
          0,
        ),
      })),
      w.unit,
    ),
    ...figureNotes,
    ...done.flatMap(([system, rounds]) =>
      rounds
        .flatMap((run) => run.result.sendErrors)
        .slice(0, 3)
        .map((error) => `${SYSTEM_LABELS[system]} send error: ${error}`),
    ),
    ...problems.map((line) => `service log: ${line}`),
  );
  return { figures, checks, notes };
}

async function liveRound(
  env: PeerEnvironment,
  w: LiveWorkload,
  system: RoundSystem,
  spec: { round: number; warmupMs: number; durationMs: number },
  relay: Relay | null,
): Promise<Measured<LiveLoadResult>> {
  if (system === 'relay' && relay && w.relayMailboxes) {
    const request: LiveLoadRequest = {
      host: '127.0.0.1',
      port: relay.server.port,
      wsUrl: relay.server.wsUrl,
      mailboxes: w.relayMailboxes,
      subscribersPerMailbox: w.service.subscribersPerMailbox,
      sending: w.sending,
      transport: { kind: 'http' },
      contentBytes: PEER_CONTENT_BYTES,
      warmupMs: spec.warmupMs,
      durationMs: spec.durationMs,
      drainTimeoutMs: w.drainTimeoutMs,
      keepSamples: true,
    };
    return runMeasuredChild('clients/live-load.ts', request, relay.watch);
  }
  if (isServiceFront(system)) {
    const request: LiveLoadRequest = {
      host: '127.0.0.1',
      port: env.fronts[system].service.port,
      wsUrl: env.fronts[system].service.wsUrl,
      mailboxes: w.service.mailboxes[system],
      subscribersPerMailbox: w.service.subscribersPerMailbox,
      sending: w.sending,
      transport:
        system === 'service-ws'
          ? { kind: 'graphql-ws', sockets: wsSockets(sendingLanes(w.sending)) }
          : { kind: 'http' },
      contentBytes: PEER_CONTENT_BYTES,
      warmupMs: spec.warmupMs,
      durationMs: spec.durationMs,
      drainTimeoutMs: w.drainTimeoutMs,
      keepSamples: true,
    };
    return runMeasuredChild('clients/live-load.ts', request, env.watch[system]);
  }
  const peer = asPeer(system);
  // Fresh queues, streams and consumers every round, removed after it.
  const topology: LiveTopology = {
    base: `bench-${w.id}-${env.runId}-r${spec.round}-${peer}`,
    ...w.topology,
  };
  const request: PeerLiveRequest = {
    peer,
    endpoints: env.endpoints,
    topology,
    sending: w.sending,
    maxUndelivered: w.maxUndelivered,
    contentBytes: PEER_CONTENT_BYTES,
    warmupMs: spec.warmupMs,
    durationMs: spec.durationMs,
    drainTimeoutMs: w.drainTimeoutMs,
    keepSamples: true,
  };
  try {
    return await runMeasuredChild('clients/peers/peer-live.ts', request, env.watch[peer]);
  } finally {
    await env.admins.get(peer)?.removeLive(topology);
  }
}

/**
 * The bare relay's median against the best peer's, as context (no target): what the
 * shortest path through this architecture gives on this machine, before anything the
 * service does on it.
 */
function relayFigures(what: string, perRound: Map<RoundSystem, number[]>): Figure[] {
  const rounds = perRound.get('relay');
  if (!rounds) return [];
  return [
    bestPeerFigure({
      scenario: 'w3',
      what: `${what}, ${SYSTEM_LABELS.relay}`,
      unit: 'ms',
      service: median(rounds),
      peers: medians(perRound).peers,
      better: 'lower',
      target: null,
    }),
  ];
}

const single: Scenario = {
  id: 'w1',
  name: 'peers-single',
  run: (context) =>
    runIngress(context, {
      id: 'w1',
      what: `single send 1 KiB, ${INGRESS_CONNECTIONS} in flight`,
      lanes: INGRESS_CONNECTIONS,
      messagesPerSend: 1,
      requestTimeoutMs: 15_000,
      serviceBody: (mailbox) =>
        sendMessageBody(directInput(mailbox, padded(`bench ${mailbox} `, PEER_CONTENT_BYTES))),
      ratioTarget: 1.0,
    }),
};

const batch: Scenario = {
  id: 'w2',
  name: 'peers-batch',
  run: (context) =>
    runIngress(context, {
      id: 'w2',
      what: `batches of ${BATCH_SIZE} x 1 KiB, ${BATCH_CONNECTIONS} in flight`,
      lanes: BATCH_CONNECTIONS,
      messagesPerSend: BATCH_SIZE,
      requestTimeoutMs: 30_000,
      serviceBody: (mailbox) =>
        sendMessagesBody(
          Array.from({ length: BATCH_SIZE }, (_, i) =>
            directInput(mailbox, padded(`bench ${mailbox} ${i} `, PEER_CONTENT_BYTES)),
          ),
        ),
      ratioTarget: 1.2,
    }),
};

const live: Scenario = {
  id: 'w3',
  name: 'peers-live',
  run: (context) =>
    runLive(context, {
      id: 'w3',
      peers: PEER_IDS,
      service: { mailboxes: liveMailboxes('w3', MAILBOXES), subscribersPerMailbox: 1 },
      topology: { targets: MAILBOXES, receiversPerTarget: 1 },
      sending: LIVE_SENDING,
      maxUndelivered: Number.MAX_SAFE_INTEGER,
      drainTimeoutMs: 15_000,
      notes: [],
      unit: 'message',
      relayMailboxes: mailboxNames('bench-w3-relay', MAILBOXES),
      figures(measured, details) {
        const what = `${MAILBOXES} receivers, ${SENDS_PER_SECOND.toLocaleString('en-US')}/s, 1 KiB`;
        const perRound = (pick: (result: LiveLoadResult) => number): Map<RoundSystem, number[]> =>
          new Map(measured.map(({ system, rounds }) => [system, rounds.map(pick)]));
        const p50 = perRound((result) => result.latency.p50);
        const p99 = perRound((result) => result.latency.p99);
        const latencyFigures = (label: string, rounds: Map<RoundSystem, number[]>): Figure[] =>
          workloadFigures(rounds, {
            scenario: 'w3',
            what: `${what}, ${label}`,
            unit: 'ms',
            better: 'lower',
            target: 'no worse',
            details: { perRound: Object.fromEntries(rounds), ...details },
          });
        const pooled = details.pooled as Record<RoundSystem, LiveLoadResult>;
        return {
          figures: [
            ...latencyFigures('p50', p50),
            ...latencyFigures('p99', p99),
            ...relayFigures(`${what}, p50`, p50),
            ...relayFigures(`${what}, p99`, p99),
          ],
          notes: [
            roundsNote('p50 ms', p50, (v) => v.toFixed(2)),
            roundsNote('p99 ms', p99, (v) => v.toFixed(2)),
            ...measured.map(({ system }) =>
              pacingNote(SYSTEM_LABELS[system], pooled[system], SENDS_PER_SECOND),
            ),
          ],
        };
      },
    }),
};

const fanOut: Scenario = {
  id: 'w4',
  name: 'peers-fanout',
  run: (context) =>
    runLive(context, {
      id: 'w4',
      peers: PEER_IDS.filter((peer) => peer !== 'bullmq'),
      service: { mailboxes: liveMailboxes('w4', 1), subscribersPerMailbox: SUBSCRIBERS },
      topology: { targets: 1, receiversPerTarget: SUBSCRIBERS },
      sending: FAN_OUT_SENDING,
      maxUndelivered: FAN_OUT_MAX_UNDELIVERED,
      drainTimeoutMs: 30_000,
      notes: ['BullMQ skipped: it has no fan-out (a job goes to one worker of its queue)'],
      unit: 'delivery',
      figures(measured, details) {
        const perRound = new Map<RoundSystem, number[]>(
          measured.map(({ system, rounds }) => [
            system,
            rounds.map((result) => perSecond(result.deliveriesInWindow, result.windowMs)),
          ]),
        );
        const sends = new Map<RoundSystem, number[]>(
          measured.map(({ system, rounds }) => [
            system,
            rounds.map((result) => perSecond(result.sendsInWindow, result.windowMs)),
          ]),
        );
        return {
          figures: workloadFigures(perRound, {
            scenario: 'w4',
            what: `fan-out to ${SUBSCRIBERS} consumers, saturated`,
            unit: 'deliveries/s',
            better: 'higher',
            against: 'jetstream',
            target: { on: 'ratio', op: '>=', value: 1.0 },
            details: {
              perRound: Object.fromEntries(perRound),
              sendsPerSecond: Object.fromEntries(sends),
              ...details,
            },
          }),
          notes: [
            roundsNote('deliveries/s', perRound, (v) => formatNumber(v, 'deliveries/s')),
            roundsNote('sends/s', sends, (v) => formatNumber(v, 'msg/s')),
          ],
        };
      },
    }),
};

export const peerScenarios: Scenario[] = [single, batch, live, fanOut];
