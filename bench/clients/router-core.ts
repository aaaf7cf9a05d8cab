/**
 * c. The router core in process: the service's Nest application from its build (its modules,
 * its Redis clients, its router), with `inFlight` MessageRouterService.route calls running
 * at once. No HTTP and no GraphQL: what a send costs inside the service.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { SendMessageInput } from '../../src/messages/send-message.input';
import { runAsChild } from '../lib/child-runtime';
import { SERVICE_DIST } from '../lib/build';
import { BENCH_SENDER, directInput, padded } from '../lib/graphql';
import { closedLoop, type ClosedLoopResult } from './closed-loop';

type AppModuleExports = typeof import('../../src/app.module');
type RouterExports = typeof import('../../src/routing/message-router.service');
type MailboxesExports = typeof import('../../src/mailboxes/mailboxes.service');
type RouteResultExports = typeof import('../../src/routing/route-result.model');

export interface RouterCoreRequest {
  environment: Record<string, string>;
  inFlight: number;
  contentBytes: number;
  phases: Array<{ name: string; durationMs: number; mailbox: string }>;
}

/** The bench's own build of the service (see bench/lib/build.ts). */
const DIST = SERVICE_DIST;
const load = createRequire(__filename);

runAsChild<RouterCoreRequest, ClosedLoopResult[]>(async (request, parent) => {
  const { AppModule } = load(join(DIST, 'app.module.js')) as AppModuleExports;
  const { MessageRouterService } = load(
    join(DIST, 'routing', 'message-router.service.js'),
  ) as RouterExports;
  const { RouteStatus } = load(
    join(DIST, 'routing', 'route-result.model.js'),
  ) as RouteResultExports;
  const { MailboxesService } = load(
    join(DIST, 'mailboxes', 'mailboxes.service.js'),
  ) as MailboxesExports;
  // The whole application, initialised but not listening. (createApplicationContext cannot
  // be used: the graphql-ws server needs the HTTP adapter when the application boots.)
  const app = await NestFactory.create(AppModule.forRoot(request.environment), {
    bodyParser: false,
    logger: ['error'],
  });
  await app.init();
  try {
    const mailboxes = app.get(MailboxesService);
    for (const name of [BENCH_SENDER, ...request.phases.map((phase) => phase.mailbox)]) {
      await mailboxes.register(name, null);
    }
    const router = app.get(MessageRouterService);
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
