/**
 * h. The router core in process (as c): DIRECT sends that start a conversation, then DIRECT
 * replies (inReplyTo a message the sender received, no target: the reply goes back to that
 * message's sender, in its thread, one hop on), `inFlight` at once, one phase after the other
 * in the same application.
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

export interface ReplyCoreRequest {
  environment: Record<string, string>;
  inFlight: number;
  contentBytes: number;
  /** `kind` says what the phase sends: fresh DIRECT messages, or replies. */
  phases: Array<{ name: string; kind: 'fresh' | 'reply'; durationMs: number; mailbox: string }>;
}

const load = createRequire(__filename);

runAsChild<ReplyCoreRequest, ClosedLoopResult[]>(async (request, parent) => {
  const { AppModule } = load(join(SERVICE_DIST, 'app.module.js')) as AppModuleExports;
  const { MessageRouterService } = load(
    join(SERVICE_DIST, 'routing', 'message-router.service.js'),
  ) as RouterExports;
  const { RouteStatus } = load(
    join(SERVICE_DIST, 'routing', 'route-result.model.js'),
  ) as RouteResultExports;
  const { MailboxesService } = load(
    join(SERVICE_DIST, 'mailboxes', 'mailboxes.service.js'),
  ) as MailboxesExports;
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
      const content = padded(`bench ${phase.mailbox} `, request.contentBytes);
      let input = directInput(phase.mailbox, content) as SendMessageInput;
      if (phase.kind === 'reply') {
        // The phase's mailbox asks; the bench sender answers it again and again.
        const asked = await router.route({
          ...directInput(BENCH_SENDER, 'question'),
          sender: phase.mailbox,
        } as SendMessageInput);
        input = {
          sender: BENCH_SENDER,
          mode: 'DIRECT',
          content,
          inReplyTo: asked.messageId,
        } as SendMessageInput;
      }
      // The CPU figure spans both measured phases (and the reply warm-up between them).
      if (phase.name === 'measure-fresh') parent.send({ type: 'measure-start' });
      results.push(
        await closedLoop(phase.name, request.inFlight, phase.durationMs, async () => {
          const routed = await router.route(input);
          return routed.messageId !== '' && routed.status !== RouteStatus.FAILED;
        }),
      );
      if (phase.name === 'measure-reply') parent.send({ type: 'measure-end' });
    }
    return results;
  } finally {
    await app.close();
  }
});
