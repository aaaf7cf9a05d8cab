/**
 * e. Fan-out: 100 graphql-ws subscribers of one mailbox, sendMessage at saturation; the
 * figure is deliveries per second summed over the subscribers. Baseline: the bare graphql-ws
 * server fanning each mutation out to 100 subscribers, driven the same way. Both run at once
 * and are measured in alternating rounds (runLiveRounds).
 */
import type { LiveLoadResult, Sending } from '../clients/live-load';
import type { Measured } from '../lib/children';
import { describeCpu } from '../lib/cpu';
import type { Scenario } from '../lib/context';
import { BENCH_SENDER, registerMailboxes } from '../lib/graphql';
import { figure, type ScenarioOutcome } from '../lib/report';
import { perSecond } from './a-ingress';
import {
  deliveredExactlyOnce,
  LIVE_CONTENT_BYTES,
  LIVE_ROUNDS,
  liveTarget,
  roundsNote,
  runLiveRounds,
} from './live';

const ID = 'e';
export const SUBSCRIBERS = 100;
/** Sends in flight: enough to keep the server busy, few enough not to bury it. */
const SENDING: Sending = { kind: 'saturate', inFlight: 8 };

export const fanOut: Scenario = {
  id: ID,
  name: 'fanout',
  async run(context): Promise<ScenarioOutcome> {
    const mailbox = 'bench-e';
    const setup = { mailboxes: [mailbox], subscribersPerMailbox: SUBSCRIBERS, sending: SENDING };
    context.log('starting the service and the bare graphql-ws baseline');
    const service = await context.startService();
    let run: Measured<LiveLoadResult>;
    let baselineRun: Measured<LiveLoadResult>;
    let problems: string[];
    try {
      const bare = await context.startBareServer();
      try {
        await registerMailboxes(service.baseUrl, [BENCH_SENDER, mailbox]);
        context.log(
          `${SUBSCRIBERS} subscribers of one mailbox, sends at saturation, service and bare in ${LIVE_ROUNDS} alternating rounds`,
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

    const rate = (result: LiveLoadResult): number =>
      perSecond(result.deliveriesInWindow, result.windowMs);
    return {
      figures: [
        figure(
          ID,
          `fan-out 1 mailbox x ${SUBSCRIBERS} subs, ${LIVE_CONTENT_BYTES} B, saturated`,
          rate(measured),
          'deliveries/s',
          { label: 'bare graphql-ws', value: rate(baseline) },
          { on: 'value', op: '>=', value: 30_000 },
          {
            service: measured,
            baseline,
            sendsPerSecond: perSecond(measured.sendsInWindow, measured.windowMs),
            baselineSendsPerSecond: perSecond(baseline.sendsInWindow, baseline.windowMs),
          },
        ),
      ],
      checks: [
        deliveredExactlyOnce(ID, 'service', measured),
        deliveredExactlyOnce(ID, 'bare baseline', baseline),
      ],
      notes: [
        roundsNote(measured),
        describeCpu('service', run.cpuMs, measured.deliveriesInWindow, 'delivery'),
        describeCpu('bare graphql-ws', baselineRun.cpuMs, baseline.deliveriesInWindow, 'delivery'),
        ...measured.sendErrors.map((error) => `service send error: ${error}`),
        ...baseline.sendErrors.map((error) => `baseline send error: ${error}`),
        ...problems.map((line) => `service log: ${line}`),
      ],
    };
  },
};
