/**
 * h. The router core in process (as c): DIRECT sends that start a conversation, then DIRECT
 * replies (inReplyTo a message the sender received, no target: the reply goes back to that
 * message's sender, in its thread, one hop on), `inFlight` at once, one phase after the other
 * in the same application.
 */
import type { SendMessageInput } from '../../src/messages/send-message.input';
import { runAsChild } from '../lib/child-runtime';
import { startInProcess } from '../lib/service-app';
import { padded } from '../lib/bodies';
import { BENCH_SENDER, directInput } from '../lib/graphql';
import { closedLoop, type ClosedLoopResult } from './closed-loop';

export interface ReplyCoreRequest {
  environment: Record<string, string>;
  inFlight: number;
  contentBytes: number;
  /** `kind` says what the phase sends: fresh DIRECT messages, or replies. */
  phases: Array<{ name: string; kind: 'fresh' | 'reply'; durationMs: number; mailbox: string }>;
}

runAsChild<ReplyCoreRequest, ClosedLoopResult[]>(async (request, parent) => {
  const { app, router, RouteStatus } = await startInProcess(request.environment, [
    BENCH_SENDER,
    ...request.phases.map((phase) => phase.mailbox),
  ]);
  try {
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
