/**
 * g. Search: what indexing costs a send, and what a search costs. The router core in process
 * (as c), 64 sends in flight of 1 KiB of varied words, with search on, against the same run
 * with SEARCH_ENABLED=false; each run in a child process of its own, on a flushed Redis. Then,
 * in each run, 10,000 messages in one mailbox: searchMessages latency (search on) against the
 * latency of a plain page of that mailbox, and the Redis memory the messages take.
 */
import type { SearchCoreRequest, SearchCoreResult } from '../clients/search-core';
import { storedExactlyOnce } from '../lib/checks';
import { runMeasuredChild } from '../lib/children';
import type { BenchContext, Scenario } from '../lib/context';
import { describeCpu } from '../lib/cpu';
import { figure, MB, type Check, type ScenarioOutcome } from '../lib/report';
import { SERVICE_ENV } from '../lib/service';
import { CONTENT_BYTES, perSecond } from './a-ingress';
import { IN_FLIGHT } from './c-router-core';

const ID = 'g';
const CORPUS = 10_000;
const QUERIES = 300;

function request(context: BenchContext, enabled: boolean, mailbox: string): SearchCoreRequest {
  const { warmupMs, durationMs } = context.options;
  return {
    environment: {
      ...SERVICE_ENV,
      REDIS_URL: context.redis.url,
      SEARCH_ENABLED: enabled ? 'true' : 'false',
    },
    inFlight: IN_FLIGHT,
    contentBytes: CONTENT_BYTES,
    phases: [
      ...(warmupMs > 0
        ? [{ name: 'warmup', durationMs: warmupMs, mailbox: `${mailbox}-warmup` }]
        : []),
      { name: 'measure', durationMs, mailbox },
    ],
    corpus: { mailbox: `${mailbox}-corpus`, messages: CORPUS, queries: QUERIES },
  };
}

async function run(context: BenchContext, enabled: boolean, mailbox: string) {
  await context.redis.client.flushall();
  const measured = await runMeasuredChild<SearchCoreResult>(
    'clients/search-core.ts',
    request(context, enabled, mailbox),
    { redis: context.redis.pid },
  );
  const result = measured.result;
  const router = result.phases[result.phases.length - 1];
  const check = await storedExactlyOnce(context, ID, mailbox, router.ok, router.failed, 0);
  return { result, router, cpuMs: measured.cpuMs, check };
}

export const search: Scenario = {
  id: ID,
  name: 'search',
  async run(context): Promise<ScenarioOutcome> {
    context.log(`router in process, search on: route() x ${IN_FLIGHT} in flight`);
    const on = await run(context, true, 'bench-g');
    context.log(`baseline: the same with SEARCH_ENABLED=false`);
    const off = await run(context, false, 'bench-g-off');

    const checks: Check[] = [
      { ...on.check, name: `${on.check.name} (search on)` },
      { ...off.check, name: `${off.check.name} (search off)` },
    ];
    const found = on.result.search;
    checks.push({
      scenario: ID,
      name: 'search finds every match',
      ok: found !== null && found.needlesFound === found.needlesSent,
      detail: found
        ? `${found.needlesFound} of ${found.needlesSent} messages holding the rare word, paged to the end`
        : 'no search result',
    });
    const searchLatency = found?.latency ?? { p50: NaN, p99: NaN };
    const page = on.result.page;
    const offLabel = 'search off';
    return {
      figures: [
        figure(
          ID,
          `route() DIRECT 1 KiB words, ${IN_FLIGHT} in flight, indexed`,
          perSecond(on.router.okInWindow, on.router.windowMs),
          'msg/s',
          { label: offLabel, value: perSecond(off.router.okInWindow, off.router.windowMs) },
          // No target: indexing writes one sorted set entry per distinct word, about a hundred
          // for 1 KiB of prose, against the handful of writes of the send itself, so the ratio
          // follows the words per message (docs/concepts/search.md, "What it costs").
          null,
          { on: on.router, off: off.router, onCpuMs: on.cpuMs, offCpuMs: off.cpuMs },
        ),
        figure(
          ID,
          'route() latency p99, indexed',
          on.router.latency.p99,
          'ms',
          { label: offLabel, value: off.router.latency.p99 },
          null,
        ),
        figure(
          ID,
          `searchMessages first 20 of ${CORPUS.toLocaleString('en-US')} messages p50`,
          searchLatency.p50,
          'ms',
          { label: 'mailbox page of 20', value: page.p50 },
          // A search is interactive: a page of results within 10 ms, in a mailbox of 10,000.
          { on: 'value', op: '<=', value: 10 },
          { search: found, page },
        ),
        figure(
          ID,
          'searchMessages first 20 p99',
          searchLatency.p99,
          'ms',
          { label: 'mailbox page of 20', value: page.p99 },
          null,
        ),
        figure(
          ID,
          `Redis memory, ${CORPUS.toLocaleString('en-US')} messages of 1 KiB, indexed`,
          on.result.corpusBytes / MB,
          'MB',
          { label: offLabel, value: off.result.corpusBytes / MB },
          null,
          { onSendMs: on.result.corpusSendMs, offSendMs: off.result.corpusSendMs },
        ),
      ],
      checks,
      notes: [
        describeCpu('search on (client = the Nest process)', on.cpuMs, on.router.ok, 'message'),
        describeCpu('search off (client = the Nest process)', off.cpuMs, off.router.ok, 'message'),
        ...Object.entries(found?.byQuery ?? {}).map(
          ([label, summary]) =>
            `search "${label}": p50 ${summary.p50.toFixed(2)} ms, p99 ${summary.p99.toFixed(2)} ms, ${summary.results} results`,
        ),
        ...on.router.errors.map((error) => `search on error: ${error}`),
        ...off.router.errors.map((error) => `search off error: ${error}`),
      ],
    };
  },
};
