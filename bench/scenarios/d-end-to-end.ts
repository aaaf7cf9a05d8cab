/**
 * d. End to end: 100 mailboxes with one graphql-ws subscriber each; sendMessage at a paced
 * 1,000 a second, round-robin over the mailboxes; latency from just before the mutation is
 * written to the subscriber's receipt. Baseline: the bare graphql-ws server (no NestJS, no
 * Redis) echoing each mutation to the subscriber, at the same pace. Both run at once and are
 * measured in alternating rounds (runLiveRounds).
 */
import type { LiveLoadResult, Sending } from '../clients/live-load';
import type { Measured } from '../lib/children';
import { describeCpu } from '../lib/cpu';
import type { Scenario } from '../lib/context';
import { BENCH_SENDER, mailboxNames, registerMailboxes } from '../lib/graphql';
import { figure, type ScenarioOutcome } from '../lib/report';
import {
  deliveredExactlyOnce,
  LIVE_CONTENT_BYTES,
  LIVE_ROUNDS,
  liveTarget,
  pacingNote,
  roundsNote,
  runLiveRounds,
} from './live';

const ID = 'd';
export const MAILBOXES = 100;
export const SENDS_PER_SECOND = 1_000;
const SENDING: Sending = { kind: 'paced', perSecond: SENDS_PER_SECOND, connections: 32 };

export const endToEnd: Scenario = {
  id: ID,
  name: 'e2e',
  async run(context): Promise<ScenarioOutcome> {
    const mailboxes = mailboxNames('bench-d', MAILBOXES);
    const setup = { mailboxes, subscribersPerMailbox: 1, sending: SENDING };
    context.log('starting the service and the bare graphql-ws baseline');
    const service = await context.startService();
    let run: Measured<LiveLoadResult>;
    let baselineRun: Measured<LiveLoadResult>;
    let problems: string[];
    try {
      const bare = await context.startBareServer();
      try {
        await registerMailboxes(service.baseUrl, [BENCH_SENDER, ...mailboxes]);
        context.log(
          `${MAILBOXES} subscribers, ${SENDS_PER_SECOND} sends/s, service and bare in ${LIVE_ROUNDS} alternating rounds`,
        );
        ({ service: run, bare: baselineRun } = await runLiveRounds(
          context,
          {
            service: liveTarget(service, { service: service.pid, redis: context.redis.pid }),
            bare: liveTarget(bare, { server: bare.pid }),
          },
          setup,
        ));
        problems = service.problemsSinceReady();
      } finally {
        await bare.stop();
      }
    } finally {
      await service.stop();
    }
    const measured = run.result;
    const baseline = baselineRun.result;

    const what = `e2e ${MAILBOXES} mailboxes x 1 sub, ${SENDS_PER_SECOND}/s, ${LIVE_CONTENT_BYTES} B`;
    const base = 'bare graphql-ws';
    return {
      figures: [
        figure(
          ID,
          `${what}, p50`,
          measured.latency.p50,
          'ms',
          { label: base, value: baseline.latency.p50 },
          {
            on: 'value',
            op: '<=',
            value: 2,
          },
          { service: measured, baseline },
        ),
        figure(
          ID,
          `${what}, p99`,
          measured.latency.p99,
          'ms',
          { label: base, value: baseline.latency.p99 },
          {
            on: 'value',
            op: '<=',
            value: 15,
          },
        ),
      ],
      checks: [
        deliveredExactlyOnce(ID, 'service', measured),
        deliveredExactlyOnce(ID, 'bare baseline', baseline),
      ],
      notes: [
        roundsNote(measured),
        pacingNote('service', measured, SENDS_PER_SECOND),
        pacingNote('bare graphql-ws', baseline, SENDS_PER_SECOND),
        describeCpu('service', run.cpuMs, measured.measuredAcknowledged, 'message'),
        describeCpu('bare graphql-ws', baselineRun.cpuMs, baseline.measuredAcknowledged, 'message'),
        ...measured.sendErrors.map((error) => `service send error: ${error}`),
        ...baseline.sendErrors.map((error) => `baseline send error: ${error}`),
        ...problems.map((line) => `service log: ${line}`),
      ],
    };
  },
};
