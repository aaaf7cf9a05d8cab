/**
 * c. Router core: MessageRouterService.route in the service's own Nest application (from
 * its build), 64 sends in flight, against the same Redis writes as one Lua script from a plain
 * ioredis client, 64 in flight. Both run in child processes of their own.
 */
import type { ClosedLoopResult } from '../clients/closed-loop';
import type { LuaWritePathRequest } from '../clients/lua-write-path';
import type { RouterCoreRequest } from '../clients/router-core';
import { storedExactlyOnce } from '../lib/checks';
import { runMeasuredChild } from '../lib/children';
import type { BenchContext, Scenario } from '../lib/context';
import { describeCpu } from '../lib/cpu';
import { figure, type ScenarioOutcome } from '../lib/report';
import { KEY_PREFIX, SERVICE_ENV } from '../lib/service';
import { CONTENT_BYTES, perSecond } from './a-ingress';

const ID = 'c';
export const IN_FLIGHT = 64;

function phaseList(
  context: BenchContext,
  mailbox: string,
): Array<{ name: string; durationMs: number; mailbox: string }> {
  const { warmupMs, durationMs } = context.options;
  return [
    ...(warmupMs > 0
      ? [{ name: 'warmup', durationMs: warmupMs, mailbox: `${mailbox}-warmup` }]
      : []),
    { name: 'measure', durationMs, mailbox },
  ];
}

/** Runs a closed-loop child; "client" in its CPU figures is the child process itself. */
async function runLoop(
  context: BenchContext,
  file: string,
  request: RouterCoreRequest | LuaWritePathRequest,
) {
  const run = await runMeasuredChild<ClosedLoopResult[]>(file, request, {
    redis: context.redis.pid,
  });
  return { result: run.result[run.result.length - 1], cpuMs: run.cpuMs };
}

export const routerCore: Scenario = {
  id: ID,
  name: 'router',
  async run(context): Promise<ScenarioOutcome> {
    context.log(`router in process: route() x ${IN_FLIGHT} in flight`);
    const routerRun = await runLoop(context, 'clients/router-core.ts', {
      environment: { ...SERVICE_ENV, REDIS_URL: context.redis.url },
      inFlight: IN_FLIGHT,
      contentBytes: CONTENT_BYTES,
      phases: phaseList(context, 'bench-c'),
    });
    const router = routerRun.result;
    const routerCheck = await storedExactlyOnce(
      context,
      ID,
      'bench-c',
      router.ok,
      router.failed,
      0,
    );

    context.log(`baseline: one Lua script from plain ioredis x ${IN_FLIGHT} in flight`);
    await context.redis.client.flushall();
    const luaRun = await runLoop(context, 'clients/lua-write-path.ts', {
      redisUrl: context.redis.url,
      prefix: KEY_PREFIX,
      inFlight: IN_FLIGHT,
      contentBytes: CONTENT_BYTES,
      phases: phaseList(context, 'bench-c-lua'),
    });
    const lua = luaRun.result;
    const luaCheck = await storedExactlyOnce(context, ID, 'bench-c-lua', lua.ok, lua.failed, 0);

    const baseline = 'Lua write path';
    return {
      figures: [
        figure(
          ID,
          `router core route() DIRECT 1 KiB, ${IN_FLIGHT} in flight`,
          perSecond(router.okInWindow, router.windowMs),
          'msg/s',
          { label: baseline, value: perSecond(lua.okInWindow, lua.windowMs) },
          { on: 'ratio', op: '>=', value: 0.9 },
          { router, lua, routerCpuMs: routerRun.cpuMs, luaCpuMs: luaRun.cpuMs },
        ),
        figure(
          ID,
          'router core route() latency p99',
          router.latency.p99,
          'ms',
          { label: baseline, value: lua.latency.p99 },
          null,
        ),
      ],
      checks: [routerCheck, { ...luaCheck, name: `${luaCheck.name} (Lua baseline)` }],
      notes: [
        describeCpu('router (client = the Nest process)', routerRun.cpuMs, router.ok, 'message'),
        describeCpu('Lua baseline (client = the ioredis process)', luaRun.cpuMs, lua.ok, 'message'),
        ...router.errors.map((error) => `router error: ${error}`),
        ...lua.errors.map((error) => `Lua baseline error: ${error}`),
      ],
    };
  },
};
