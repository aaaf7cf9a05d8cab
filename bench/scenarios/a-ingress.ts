/**
 * a. Ingress: sendMessage (DIRECT, 1 KiB) over 50 keep-alive HTTP connections, against a bare
 * Apollo Server 5 answering a constant result for the same mutation, measured the same way:
 * on Express (what a user would otherwise write; the target) and on Fastify (the adapter the
 * service runs on; for context). All three run at once and are measured in alternating
 * rounds, so that a machine that slows down for a while slows them alike. A fourth target is the
 * service again, sent to by an agent with its own token and the rate limit on, as agents send:
 * what a caller that is not the admin costs beyond one that is.
 */
import type { HttpLoadPhase, HttpLoadPhaseResult, HttpLoadRequest } from '../clients/http-load';
import { storedExactlyOnce } from '../lib/checks';
import { LatencyRecorder } from '../lib/stats';
import { runMeasuredChild, type Measured } from '../lib/children';
import { describeCpu } from '../lib/cpu';
import type { BenchContext, Scenario } from '../lib/context';
import { padded } from '../lib/bodies';
import {
  BENCH_SENDER,
  directInput,
  graphqlOk,
  registerMailboxes,
  sendMessageBody,
} from '../lib/graphql';
import { figure, type ScenarioOutcome } from '../lib/report';

export const INGRESS_CONNECTIONS = 50;
export const CONTENT_BYTES = 1024;
/** Measured rounds per server; the measured time is split evenly between them. */
export const INGRESS_ROUNDS = 5;
const ID = 'a';
/** The agent that sends with its own token in the fourth target. */
const AGENT = 'bench-a-agent';
/** Operations per minute per mailbox token: charged on every agent's send, never reached. */
const AGENT_RATE_LIMIT = '1000000000';

/** The warm-up and measured phases of a load; the warm-up is left out when it is 0 s. */
export function phases(
  context: BenchContext,
  body: (mailbox: string) => string,
  messagesPerRequest: number,
  mailboxes: { warmup: string; measure: string },
): HttpLoadPhase[] {
  const { warmupMs, durationMs } = context.options;
  const list: HttpLoadPhase[] = [];
  if (warmupMs > 0)
    list.push({
      name: 'warmup',
      durationMs: warmupMs,
      body: body(mailboxes.warmup),
      messagesPerRequest,
    });
  list.push({ name: 'measure', durationMs, body: body(mailboxes.measure), messagesPerRequest });
  return list;
}

/**
 * Runs single sendMessage load against `port`; returns the measured phase and the CPU that
 * the `watch`ed processes (and the load generator, "client") used during it.
 */
export async function singleSendLoad(
  context: BenchContext,
  port: number,
  mailboxes: { warmup: string; measure: string },
  watch: Record<string, number>,
): Promise<Measured<HttpLoadPhaseResult>> {
  const request: HttpLoadRequest = {
    host: '127.0.0.1',
    port,
    connections: INGRESS_CONNECTIONS,
    requestTimeoutMs: 15_000,
    phases: phases(
      context,
      (mailbox) =>
        sendMessageBody(directInput(mailbox, padded(`bench ${mailbox} `, CONTENT_BYTES))),
      1,
      mailboxes,
    ),
  };
  const run = await runMeasuredChild<HttpLoadPhaseResult[]>('clients/http-load.ts', request, watch);
  return { result: run.result[run.result.length - 1], cpuMs: run.cpuMs };
}

export function perSecond(count: number, windowMs: number): number {
  return (count * 1000) / windowMs;
}

interface LoadTarget {
  port: number;
  /** Processes whose CPU is sampled during each measured round (name to pid). */
  watch: Record<string, number>;
  /** Where its warm-up and measured sends go: the scenario's mailboxes unless given. */
  mailboxes?: { warmup: string; measure: string };
  /**
   * An agent's own token, with which the sends name no sender (the token does): the admin
   * token and BENCH_SENDER unless given.
   */
  token?: string;
}

/** A target's request body for a mailbox: as the admin for BENCH_SENDER, or as the token's agent. */
function ingressBody(target: LoadTarget, mailbox: string): string {
  const input = directInput(mailbox, padded(`bench ${mailbox} `, CONTENT_BYTES));
  return sendMessageBody(target.token === undefined ? input : { ...input, sender: undefined });
}

function sum(rounds: HttpLoadPhaseResult[], key: keyof HttpLoadPhaseResult): number {
  return rounds.reduce((total, round) => total + (round[key] as number), 0);
}

/** One phase result from several rounds: counts and windows added, latencies pooled. */
function mergeRounds(rounds: HttpLoadPhaseResult[]): HttpLoadPhaseResult {
  const latency = new LatencyRecorder();
  for (const round of rounds) for (const sample of round.samples ?? []) latency.record(sample);
  return {
    name: 'measure',
    windowMs: sum(rounds, 'windowMs'),
    requestsInWindow: sum(rounds, 'requestsInWindow'),
    messagesInWindow: sum(rounds, 'messagesInWindow'),
    messagesAcknowledged: sum(rounds, 'messagesAcknowledged'),
    messagesRefused: sum(rounds, 'messagesRefused'),
    requestsFailed: sum(rounds, 'requestsFailed'),
    requestsUnknown: sum(rounds, 'requestsUnknown'),
    latency: latency.summary(),
    errors: rounds.flatMap((round) => round.errors).slice(0, 5),
  };
}

/**
 * Single sendMessage load on each target in turn, INGRESS_ROUNDS times, the order swapped
 * every round; each target's first round starts with its warm-up. Returns each target's
 * rounds merged and the CPU its watched processes used in them.
 */
async function interleavedSendLoad<Name extends string>(
  context: BenchContext,
  targets: Record<Name, LoadTarget>,
  mailboxes: { warmup: string; measure: string },
): Promise<Record<Name, Measured<HttpLoadPhaseResult>>> {
  const { warmupMs, durationMs } = context.options;
  const roundMs = Math.max(1000, Math.round(durationMs / INGRESS_ROUNDS));
  const names = Object.keys(targets) as Name[];
  const rounds = new Map<Name, HttpLoadPhaseResult[]>(names.map((name) => [name, []]));
  const cpu = new Map<Name, Record<string, number>>(names.map((name) => [name, {}]));
  for (let round = 0; round < INGRESS_ROUNDS; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      const target = targets[name];
      const { warmup, measure } = target.mailboxes ?? mailboxes;
      const phases: HttpLoadPhase[] = [];
      if (round === 0 && warmupMs > 0)
        phases.push({
          name: 'warmup',
          durationMs: warmupMs,
          body: ingressBody(target, warmup),
          messagesPerRequest: 1,
        });
      phases.push({
        name: 'measure',
        durationMs: roundMs,
        body: ingressBody(target, measure),
        messagesPerRequest: 1,
        keepSamples: true,
      });
      const request: HttpLoadRequest = {
        host: '127.0.0.1',
        port: target.port,
        connections: INGRESS_CONNECTIONS,
        requestTimeoutMs: 15_000,
        phases,
        token: target.token,
      };
      const run = await runMeasuredChild<HttpLoadPhaseResult[]>(
        'clients/http-load.ts',
        request,
        target.watch,
      );
      rounds.get(name)?.push(run.result[run.result.length - 1]);
      const total = cpu.get(name) as Record<string, number>;
      for (const [process, ms] of Object.entries(run.cpuMs))
        total[process] = (total[process] ?? 0) + ms;
    }
  }
  return Object.fromEntries(
    names.map((name) => [
      name,
      { result: mergeRounds(rounds.get(name) ?? []), cpuMs: cpu.get(name) ?? {} },
    ]),
  ) as Record<Name, Measured<HttpLoadPhaseResult>>;
}

export const ingress: Scenario = {
  id: ID,
  name: 'ingress',
  async run(context): Promise<ScenarioOutcome> {
    const mailboxes = { warmup: 'bench-a-warmup', measure: 'bench-a' };
    const agentMailboxes = { warmup: 'bench-a-agent-warmup', measure: 'bench-a-agent-inbox' };
    context.log('starting the service and the bare Apollo baselines (Express, Fastify)');
    // The rate limit on, as agents meet it, and too high to refuse a send here: the admin is
    // never charged, the agent's every send is.
    const service = await context.startService({ RATE_LIMIT_PER_MINUTE: AGENT_RATE_LIMIT });
    let run: Measured<HttpLoadPhaseResult>;
    let agentRun: Measured<HttpLoadPhaseResult>;
    let baselineRun: Measured<HttpLoadPhaseResult>;
    let fastifyRun: Measured<HttpLoadPhaseResult>;
    let problems: string[];
    try {
      await registerMailboxes(service.baseUrl, [
        BENCH_SENDER,
        mailboxes.warmup,
        mailboxes.measure,
        agentMailboxes.warmup,
        agentMailboxes.measure,
      ]);
      const { registerMailbox: agent } = await graphqlOk<{ registerMailbox: { token: string } }>(
        service.baseUrl,
        `mutation { registerMailbox(name: "${AGENT}") { token } }`,
      );
      const bare = await context.startBareServer('express');
      const bareFastify = await context.startBareServer('fastify');
      try {
        context.log(
          `service and bare Apollo in ${INGRESS_ROUNDS} alternating rounds: sendMessage over ${INGRESS_CONNECTIONS} connections`,
        );
        ({
          service: run,
          agent: agentRun,
          baseline: baselineRun,
          fastify: fastifyRun,
        } = await interleavedSendLoad(
          context,
          {
            service: {
              port: service.port,
              watch: { service: service.pid, redis: context.redis.pid },
            },
            agent: {
              port: service.port,
              watch: { service: service.pid, redis: context.redis.pid },
              mailboxes: agentMailboxes,
              token: agent.token,
            },
            baseline: { port: bare.port, watch: { server: bare.pid } },
            fastify: { port: bareFastify.port, watch: { server: bareFastify.pid } },
          },
          mailboxes,
        ));
      } finally {
        await bare.stop();
        await bareFastify.stop();
      }
      problems = service.problemsSinceReady();
    } finally {
      await service.stop();
    }
    const measured = run.result;
    const asAgent = agentRun.result;
    const checks = [
      await storedExactlyOnce(
        context,
        ID,
        mailboxes.measure,
        measured.messagesAcknowledged,
        measured.messagesRefused,
        measured.requestsUnknown,
      ),
      await storedExactlyOnce(
        context,
        ID,
        agentMailboxes.measure,
        asAgent.messagesAcknowledged,
        asAgent.messagesRefused,
        asAgent.requestsUnknown,
        'stored exactly once (as an agent)',
      ),
    ];

    const label = `ingress sendMessage 1 KiB, ${INGRESS_CONNECTIONS} conns`;
    const baseline = baselineRun.result;
    const onFastify = fastifyRun.result;
    const details = {
      service: measured,
      baseline,
      baselineOnFastify: onFastify,
      serviceCpuMs: run.cpuMs,
      baselineCpuMs: baselineRun.cpuMs,
      baselineOnFastifyCpuMs: fastifyRun.cpuMs,
    };
    return {
      figures: [
        figure(
          ID,
          label,
          perSecond(measured.messagesInWindow, measured.windowMs),
          'req/s',
          {
            label: 'bare Apollo on Express',
            value: perSecond(baseline.messagesInWindow, baseline.windowMs),
          },
          { on: 'ratio', op: '>=', value: 1.0 },
          details,
        ),
        figure(
          ID,
          `${label}, against Apollo on the service's own adapter`,
          perSecond(measured.messagesInWindow, measured.windowMs),
          'req/s',
          {
            label: 'bare Apollo on Fastify',
            value: perSecond(onFastify.messagesInWindow, onFastify.windowMs),
          },
          null,
        ),
        figure(
          ID,
          `${label}, as an agent (its own token, rate limit charged)`,
          perSecond(asAgent.messagesInWindow, asAgent.windowMs),
          'req/s',
          {
            label: 'the same service, as the admin',
            value: perSecond(measured.messagesInWindow, measured.windowMs),
          },
          null,
          { agent: asAgent, agentCpuMs: agentRun.cpuMs },
        ),
        figure(
          ID,
          'ingress sendMessage latency p50',
          measured.latency.p50,
          'ms',
          {
            label: 'bare Apollo',
            value: baseline.latency.p50,
          },
          null,
        ),
        figure(
          ID,
          'ingress sendMessage latency p99',
          measured.latency.p99,
          'ms',
          {
            label: 'bare Apollo',
            value: baseline.latency.p99,
          },
          null,
        ),
      ],
      checks,
      notes: [
        `service and baseline measured in ${INGRESS_ROUNDS} alternating rounds of ${(measured.windowMs / INGRESS_ROUNDS / 1000).toFixed(1)} s each`,
        describeCpu('service', run.cpuMs, measured.messagesAcknowledged, 'message'),
        describeCpu(
          'service, as an agent',
          agentRun.cpuMs,
          asAgent.messagesAcknowledged,
          'message',
        ),
        describeCpu(
          'bare Apollo on Express',
          baselineRun.cpuMs,
          baseline.messagesAcknowledged,
          'message',
        ),
        describeCpu(
          'bare Apollo on Fastify',
          fastifyRun.cpuMs,
          onFastify.messagesAcknowledged,
          'message',
        ),
        ...measured.errors.map((error) => `service error: ${error}`),
        ...asAgent.errors.map((error) => `service error (as an agent): ${error}`),
        ...baseline.errors.map((error) => `baseline error: ${error}`),
        ...onFastify.errors.map((error) => `Fastify baseline error: ${error}`),
        ...problems.map((line) => `service log: ${line}`),
      ],
    };
  },
};
