/**
 * f. Memory: 10,000 idle graphql-ws subscriptions (100 WebSockets x 100 subscriptions, the
 * service's SUBSCRIPTIONS_PER_SOCKET) to 10,000 mailboxes; the service's RSS (VmRSS) with
 * them open, against its RSS idle right after start. Then one message to every mailbox shows
 * that every subscription is live.
 */
import type { IdleSubscribersRequest, IdleSubscribersResult } from '../clients/idle-subscribers';
import { ChildHandle, terminate, type ChildMessage } from '../lib/children';
import type { Scenario } from '../lib/context';
import { mailboxNames, registerMailboxes } from '../lib/graphql';
import { figure, MB, type Check, type ScenarioOutcome } from '../lib/report';
import { KEY_PREFIX, SERVICE_ENV } from '../lib/service';
import { sleep } from '../lib/stats';

const ID = 'f';
export const SUBSCRIPTIONS = 10_000;
export const PER_SOCKET = Number(SERVICE_ENV.SUBSCRIPTIONS_PER_SOCKET);
/** Let the process settle (lazy allocations, timers) before reading its RSS. */
const SETTLE_MS = 2_000;
/**
 * Idle subscriptions are measured once the process is idle: V8 collects the garbage of the
 * subscription burst (its memory reducer runs after some 20-30 s without allocation) and
 * gives the pages back. The RSS right after the burst is reported beside it.
 */
const IDLE_WINDOW_MS = 40_000;

const n = (value: number): string => value.toLocaleString('en-US');
const mb = (bytes: number | undefined): string =>
  bytes === undefined ? 'n/a' : (bytes / MB).toFixed(1);

export const memory: Scenario = {
  id: ID,
  name: 'memory',
  async run(context): Promise<ScenarioOutcome> {
    const mailboxes = mailboxNames('bench-f', SUBSCRIPTIONS);
    context.log('starting the service');
    const service = await context.startService();
    let idleRss: number;
    let loadedRss: number;
    let burstRss: number;
    let afterCheckRss: number;
    let channels: number;
    let result: IdleSubscribersResult;
    let problems: string[];
    let subscribeMs: number;
    let idleMetrics: Record<string, number>;
    let loadedMetrics: Record<string, number>;
    try {
      await sleep(SETTLE_MS);
      idleRss = service.rssBytes();
      idleMetrics = await service.memoryMetrics();
      context.log(`registering ${n(SUBSCRIPTIONS)} mailboxes`);
      await registerMailboxes(service.baseUrl, mailboxes);
      context.log(`opening ${n(SUBSCRIPTIONS)} subscriptions, ${PER_SOCKET} per socket`);
      const started = Date.now();
      const request: IdleSubscribersRequest = {
        host: '127.0.0.1',
        port: service.port,
        wsUrl: service.wsUrl,
        mailboxes,
        perSocket: PER_SOCKET,
      };
      const child = ChildHandle.start('clients/idle-subscribers.ts', request);
      try {
        const subscribed = await child.next<ChildMessage & { errors: string[] }>(
          'subscribed',
          180_000,
        );
        if (subscribed.errors.length > 0)
          throw new Error(`subscriptions failed: ${subscribed.errors.slice(0, 3).join('; ')}`);
        // Every feed subscribes its mailbox channel on the service's Redis subscriber connection.
        const pattern = `${KEY_PREFIX}mailbox:*:feed`;
        const deadline = Date.now() + 120_000;
        for (;;) {
          channels = ((await context.redis.client.call('PUBSUB', 'CHANNELS', pattern)) as string[])
            .length;
          if (channels >= SUBSCRIPTIONS || Date.now() > deadline) break;
          await sleep(200);
        }
        subscribeMs = Date.now() - started;
        await sleep(SETTLE_MS);
        burstRss = service.rssBytes();
        context.log(`idle for ${IDLE_WINDOW_MS / 1000} s with the subscriptions open`);
        await sleep(IDLE_WINDOW_MS);
        loadedRss = service.rssBytes();
        loadedMetrics = await service.memoryMetrics();
        context.log('checking every subscription with one message each');
        child.send({ type: 'check' });
        result = await child.result<IdleSubscribersResult>(120_000);
      } finally {
        await terminate(child.process);
      }
      afterCheckRss = service.rssBytes();
      problems = service.problemsSinceReady();
    } finally {
      await service.stop();
    }

    const live: Check = {
      scenario: ID,
      name: 'every subscription live, each message delivered exactly once',
      ok:
        channels >= SUBSCRIPTIONS &&
        result.acknowledged === SUBSCRIPTIONS &&
        result.deliveredOnce === SUBSCRIPTIONS &&
        result.duplicates === 0 &&
        result.misrouted === 0 &&
        result.subscriptionErrors.length === 0,
      detail:
        `${n(result.subscriptions)} subscriptions on ${n(result.sockets)} sockets, ` +
        `${n(channels)} mailbox channels subscribed in Redis; ` +
        `${n(result.acknowledged)} messages acknowledged, ${n(result.deliveredOnce)} delivered once, ` +
        `${n(result.missing)} missing, ${n(result.duplicates)} duplicated, ${n(result.misrouted)} misrouted` +
        (result.subscriptionErrors.length > 0
          ? `; errors: ${result.subscriptionErrors.slice(0, 3).join('; ')}`
          : ''),
    };
    return {
      figures: [
        figure(
          ID,
          `memory ${n(SUBSCRIPTIONS)} idle subs (${n(result.sockets)} sockets x ${PER_SOCKET}), RSS`,
          loadedRss / MB,
          'MB',
          { label: 'idle service', value: idleRss / MB },
          { on: 'value', op: '<', value: 300 },
          {
            idleRssBytes: idleRss,
            loadedRssBytes: loadedRss,
            burstRssBytes: burstRss,
            idleWindowMs: IDLE_WINDOW_MS,
            rssAfterCheckBytes: afterCheckRss,
            bytesPerSubscription: (loadedRss - idleRss) / SUBSCRIPTIONS,
            subscribeMs,
            idleMetrics,
            loadedMetrics,
            check: result,
          },
        ),
      ],
      checks: [live],
      notes: [
        `RSS ${SETTLE_MS / 1000} s after the subscriptions opened: ${(burstRss / MB).toFixed(1)} MB; ` +
          `after ${IDLE_WINDOW_MS / 1000} s idle (the figure): ${(loadedRss / MB).toFixed(1)} MB`,
        `RSS after delivering one message to each mailbox: ${(afterCheckRss / MB).toFixed(1)} MB; ` +
          `${Math.round((loadedRss - idleRss) / SUBSCRIPTIONS)} bytes per subscription`,
        `V8 heap used idle ${mb(idleMetrics.nodejs_heap_size_used_bytes)} MB, with the ` +
          `subscriptions ${mb(loadedMetrics.nodejs_heap_size_used_bytes)} MB (heap total ` +
          `${mb(loadedMetrics.nodejs_heap_size_total_bytes)} MB, external ` +
          `${mb(loadedMetrics.nodejs_external_memory_bytes)} MB); ${n(result.sockets)} sockets ` +
          `subscribed in ${(subscribeMs / 1000).toFixed(1)} s`,
        ...result.sendErrors.map((error) => `send error: ${error}`),
        ...problems.map((line) => `service log: ${line}`),
      ],
    };
  },
};
