/**
 * c. The router core in process: the service's Nest application from its build (its modules,
 * its Redis clients, its router), with `inFlight` MessageRouterService.route calls running
 * at once. No HTTP and no GraphQL: what a send costs inside the service.
 */
import type { SendMessageInput } from '../../src/messages/send-message.input';
import { runAsChild } from '../lib/child-runtime';
import { startInProcess } from '../lib/service-app';
import { padded } from '../lib/bodies';
import { BENCH_SENDER, directInput } from '../lib/graphql';
import { closedLoop, type ClosedLoopResult } from './closed-loop';

export interface RouterCoreRequest {
  environment: Record<string, string>;
  inFlight: number;
  contentBytes: number;
  phases: Array<{ name: string; durationMs: number; mailbox: string }>;
}

runAsChild<RouterCoreRequest, ClosedLoopResult[]>(async (request, parent) => {
  const { app, router, RouteStatus } = await startInProcess(request.environment, [
    BENCH_SENDER,
    ...request.phases.map((phase) => phase.mailbox),
  ]);
  try {
    const results: ClosedLoopResult[] = [];
    for (const phase of request.phases) {
      const input = directInput(
        phase.mailbox,
        padded(`bench ${phase.mailbox} `, request.contentBytes),
      ) as SendMessageInput;
      if (phase.name === 'measure') parent.send({ type: 'measure-start' });
      results.push(
        await closedLoop(phase.name, request.inFlight, phase.durationMs, async () => {
          const routed = await router.route(input);
          return routed.messageId !== '' && routed.status !== RouteStatus.FAILED;
        }),
      );
      if (phase.name === 'measure') parent.send({ type: 'measure-end' });
    }
    return results;
  } finally {
    await app.close();
  }
});
