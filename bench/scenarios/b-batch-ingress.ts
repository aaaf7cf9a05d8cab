/**
 * b. Batch ingress: sendMessages with 100 DIRECT messages of 1 KiB per request. The figure is
 * messages per second against an absolute target; the baseline is single sendMessage from
 * scenario a of this run (or measured here, on the same service, when a did not run).
 */
import type { HttpLoadPhaseResult, HttpLoadRequest } from '../clients/http-load';
import { storedExactlyOnce } from '../lib/checks';
import { runMeasuredChild, type Measured } from '../lib/children';
import { describeCpu } from '../lib/cpu';
import type { Scenario } from '../lib/context';
import { padded } from '../lib/bodies';
import { BENCH_SENDER, directInput, registerMailboxes, sendMessagesBody } from '../lib/graphql';
import { figure, type Check, type ScenarioOutcome } from '../lib/report';
import { CONTENT_BYTES, INGRESS_CONNECTIONS, perSecond, phases, singleSendLoad } from './a-ingress';

const ID = 'b';
export const BATCH_SIZE = 100;
/** Requests in flight: 8 x 100 = 800 messages being routed at once. */
export const BATCH_CONNECTIONS = 8;

export const batchIngress: Scenario = {
  id: ID,
  name: 'batch',
  async run(context): Promise<ScenarioOutcome> {
    const mailboxes = { warmup: 'bench-b-warmup', measure: 'bench-b' };
    const single = { warmup: 'bench-b-single-warmup', measure: 'bench-b-single' };
    const fromA = context.earlier.get('a')?.figures[0];
    context.log('starting the service');
    const service = await context.startService();
    let run: Measured<HttpLoadPhaseResult[]>;
    let singleMeasured: HttpLoadPhaseResult | null = null;
    let problems: string[];
    try {
      await registerMailboxes(service.baseUrl, [
        BENCH_SENDER,
        mailboxes.warmup,
        mailboxes.measure,
        single.warmup,
        single.measure,
      ]);
      const request: HttpLoadRequest = {
        host: '127.0.0.1',
        port: service.port,
        connections: BATCH_CONNECTIONS,
        requestTimeoutMs: 30_000,
        phases: phases(
          context,
          (mailbox) =>
            sendMessagesBody(
              Array.from({ length: BATCH_SIZE }, (_, i) =>
                directInput(mailbox, padded(`bench ${mailbox} ${i} `, CONTENT_BYTES)),
              ),
            ),
          BATCH_SIZE,
          mailboxes,
        ),
      };
      context.log(`service: sendMessages x ${BATCH_SIZE} over ${BATCH_CONNECTIONS} connections`);
      const watch = { service: service.pid, redis: context.redis.pid };
      run = await runMeasuredChild<HttpLoadPhaseResult[]>('clients/http-load.ts', request, watch);
      if (!fromA) {
        context.log('scenario a did not run: measuring single sendMessage for the baseline');
        singleMeasured = (await singleSendLoad(context, service.port, single, watch)).result;
      }
      problems = service.problemsSinceReady();
    } finally {
      await service.stop();
    }
    const measured = run.result[run.result.length - 1];
    const checks: Check[] = [
      await storedExactlyOnce(
        context,
        ID,
        mailboxes.measure,
        measured.messagesAcknowledged,
        measured.messagesRefused,
        measured.requestsUnknown * BATCH_SIZE,
      ),
    ];
    if (singleMeasured) {
      const check = await storedExactlyOnce(
        context,
        ID,
        single.measure,
        singleMeasured.messagesAcknowledged,
        singleMeasured.messagesRefused,
        singleMeasured.requestsUnknown,
      );
      checks.push({ ...check, name: `${check.name} (single sendMessage baseline)` });
    }
    const baseline = fromA
      ? { label: 'sendMessage (a)', value: fromA.value }
      : {
          label: 'sendMessage',
          value: perSecond(singleMeasured!.messagesInWindow, singleMeasured!.windowMs),
        };
    const value = perSecond(measured.messagesInWindow, measured.windowMs);
    return {
      figures: [
        figure(
          ID,
          `batch sendMessages ${BATCH_SIZE} x 1 KiB, ${BATCH_CONNECTIONS} conns`,
          value,
          'msg/s',
          baseline,
          { on: 'value', op: '>=', value: 20_000 },
          {
            service: measured,
            baselineSource: fromA
              ? 'scenario a'
              : `measured here, ${INGRESS_CONNECTIONS} connections`,
            singleSend: singleMeasured,
            serviceCpuMs: run.cpuMs,
          },
        ),
      ],
      checks,
      notes: [
        describeCpu('service', run.cpuMs, measured.messagesAcknowledged, 'message'),
        ...measured.errors.map((error) => `service error: ${error}`),
        ...problems.map((line) => `service log: ${line}`),
      ],
    };
  },
};
