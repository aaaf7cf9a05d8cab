/**
 * a. Ingress: sendMessage (DIRECT, 1 KiB) over 50 keep-alive HTTP connections, against a bare
 * Apollo Server 5 answering a constant result for the same mutation, measured the same way.
 */
import type { HttpLoadPhase, HttpLoadPhaseResult, HttpLoadRequest } from '../clients/http-load';
import { storedExactlyOnce } from '../lib/checks';
import { runMeasuredChild, type Measured } from '../lib/children';
import { describeCpu } from '../lib/cpu';
import type { BenchContext, Scenario } from '../lib/context';
import {
  BENCH_SENDER,
  directInput,
  padded,
  registerMailboxes,
  sendMessageBody,
} from '../lib/graphql';
import { figure, type ScenarioOutcome } from '../lib/report';

export const INGRESS_CONNECTIONS = 50;
export const CONTENT_BYTES = 1024;
const ID = 'a';

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

export const ingress: Scenario = {
  id: ID,
  name: 'ingress',
  async run(context): Promise<ScenarioOutcome> {
    const mailboxes = { warmup: 'bench-a-warmup', measure: 'bench-a' };
    context.log('starting the service');
    const service = await context.startService();
    let run: Measured<HttpLoadPhaseResult>;
    let problems: string[];
    try {
      await registerMailboxes(service.baseUrl, [BENCH_SENDER, mailboxes.warmup, mailboxes.measure]);
      context.log(`service: sendMessage over ${INGRESS_CONNECTIONS} connections`);
      run = await singleSendLoad(context, service.port, mailboxes, {
        service: service.pid,
        redis: context.redis.pid,
      });
      problems = service.problemsSinceReady();
    } finally {
      await service.stop();
    }
    const measured = run.result;
    const check = await storedExactlyOnce(
      context,
      ID,
      mailboxes.measure,
      measured.messagesAcknowledged,
      measured.messagesRefused,
      measured.requestsUnknown,
    );

    context.log('starting the bare Apollo baseline');
    const bare = await context.startBareServer();
    let baselineRun: Measured<HttpLoadPhaseResult>;
    try {
      context.log(`bare Apollo: sendMessage over ${INGRESS_CONNECTIONS} connections`);
      baselineRun = await singleSendLoad(context, bare.port, mailboxes, { server: bare.pid });
    } finally {
      await bare.stop();
    }

    const label = `ingress sendMessage 1 KiB, ${INGRESS_CONNECTIONS} conns`;
    const baseline = baselineRun.result;
    const details = {
      service: measured,
      baseline,
      serviceCpuMs: run.cpuMs,
      baselineCpuMs: baselineRun.cpuMs,
    };
    return {
      figures: [
        figure(
          ID,
          label,
          perSecond(measured.messagesInWindow, measured.windowMs),
          'req/s',
          { label: 'bare Apollo', value: perSecond(baseline.messagesInWindow, baseline.windowMs) },
          { on: 'ratio', op: '>=', value: 0.75 },
          details,
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
      checks: [check],
      notes: [
        describeCpu('service', run.cpuMs, measured.messagesAcknowledged, 'message'),
        describeCpu('bare Apollo', baselineRun.cpuMs, baseline.messagesAcknowledged, 'message'),
        ...measured.errors.map((error) => `service error: ${error}`),
        ...baseline.errors.map((error) => `baseline error: ${error}`),
        ...problems.map((line) => `service log: ${line}`),
      ],
    };
  },
};
