/**
 * h. Conversations: what a reply costs the router against a fresh DIRECT send, both through
 * MessageRouterService.route in the service's own Nest application (as c), 64 in flight, in
 * one child process, one phase after the other. A reply reads the message it answers and
 * checks that the sender received it before it is routed, and writes its thread's index.
 */
import type { ClosedLoopResult } from '../clients/closed-loop';
import type { ReplyCoreRequest } from '../clients/reply-core';
import { storedExactlyOnce } from '../lib/checks';
import { runMeasuredChild } from '../lib/children';
import type { Scenario } from '../lib/context';
import { describeCpu } from '../lib/cpu';
import { figure, type ScenarioOutcome } from '../lib/report';
import { SERVICE_ENV } from '../lib/service';
import { CONTENT_BYTES, perSecond } from './a-ingress';
import { IN_FLIGHT } from './c-router-core';

const ID = 'h';

export const conversations: Scenario = {
  id: ID,
  name: 'conversations',
  async run(context): Promise<ScenarioOutcome> {
    const { warmupMs, durationMs } = context.options;
    const phases: ReplyCoreRequest['phases'] = [];
    for (const kind of ['fresh', 'reply'] as const) {
      if (warmupMs > 0) {
        phases.push({
          name: `warmup-${kind}`,
          kind,
          durationMs: warmupMs,
          mailbox: `bench-h-${kind}-warmup`,
        });
      }
      phases.push({ name: `measure-${kind}`, kind, durationMs, mailbox: `bench-h-${kind}` });
    }
    context.log(`router in process: fresh DIRECT sends, then replies, x ${IN_FLIGHT} in flight`);
    const run = await runMeasuredChild<ClosedLoopResult[]>(
      'clients/reply-core.ts',
      {
        environment: { ...SERVICE_ENV, REDIS_URL: context.redis.url },
        inFlight: IN_FLIGHT,
        contentBytes: CONTENT_BYTES,
        phases,
      } satisfies ReplyCoreRequest,
      { redis: context.redis.pid },
    );
    const byName = new Map(run.result.map((result) => [result.name, result]));
    const fresh = byName.get('measure-fresh') as ClosedLoopResult;
    const reply = byName.get('measure-reply') as ClosedLoopResult;
    // Replies go back to the sender of the question: BENCH_SENDER answers bench-h-reply.
    const freshCheck = await storedExactlyOnce(
      context,
      ID,
      'bench-h-fresh',
      fresh.ok,
      fresh.failed,
      0,
    );
    return {
      figures: [
        figure(
          ID,
          `route() DIRECT reply 1 KiB, ${IN_FLIGHT} in flight`,
          perSecond(reply.okInWindow, reply.windowMs),
          'msg/s',
          { label: 'fresh DIRECT send', value: perSecond(fresh.okInWindow, fresh.windowMs) },
          // No target: a reply makes two reads the fresh send does not (the message it answers,
          // and whether the sender holds it) and writes its thread's index; this shows what
          // that costs.
          null,
          { fresh, reply },
        ),
        figure(
          ID,
          'route() reply latency p99',
          reply.latency.p99,
          'ms',
          { label: 'fresh DIRECT send', value: fresh.latency.p99 },
          null,
        ),
      ],
      checks: [freshCheck],
      notes: [
        describeCpu(
          'both phases (client = the Nest process)',
          run.cpuMs,
          fresh.ok + reply.ok,
          'message',
        ),
        ...fresh.errors.map((error) => `fresh error: ${error}`),
        ...reply.errors.map((error) => `reply error: ${error}`),
      ],
    };
  },
};
