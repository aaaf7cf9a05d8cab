/**
 * j. The router core in process (as c), with the safety guards at work or, for the baseline,
 * with SafetyService replaced by a pass-through whose admit() does nothing and which gives no
 * send guards to run in the store's call (guards); the application
 * is built the same way in both (lib/service-app.ts, `replace`). The process boots once,
 * then runs the rounds the runner asks for, each a list of phases: fresh DIRECT sends from
 * many senders to as many recipients, `inFlight` at once, or DIRECT replies (inReplyTo, no
 * target) to questions seeded just before the phase, one reply per question, so that the
 * thread guard admits every one of them (ROUTER_MAX_VISITS counts replies to one mailbox in
 * one thread). Every body is unique, so the duplicate guard admits every send.
 */
import { performance } from 'node:perf_hooks';
import type { SendMessageInput } from '../../src/messages/send-message.input';
import type { RouteResult } from '../../src/routing/route-result.model';
import type { SafetyService } from '../../src/safety/safety.service';
import { runAsChild } from '../lib/child-runtime';
import type { ChildMessage } from '../lib/children';
import { loadBuilt, startInProcess, type ProviderReplacement } from '../lib/service-app';
import { closedLoop, type ClosedLoopResult } from './closed-loop';

type TokenEstimateExports = typeof import('../../src/safety/token-estimate');

export type GuardPhaseKind = 'fresh' | 'reply';

export interface GuardCoreRequest {
  environment: Record<string, string>;
  /** false: SafetyService is replaced by a pass-through (admit resolves at once). */
  guards: boolean;
  inFlight: number;
  contentBytes: number;
  /** Pair i: senders[i] writes to recipients[set][i] (fresh) or answers its question (reply). */
  senders: string[];
  /** Recipient sets by name, each as long as `senders`. */
  recipients: Record<string, string[]>;
}

export interface GuardPhase {
  name: string;
  kind: GuardPhaseKind;
  durationMs: number;
  /** The recipient set: fresh sends go to it; for replies it asks the questions. */
  recipients: string;
  /** Measured phases are framed by measure-start and measure-end messages. */
  measured: boolean;
}

export interface GuardRoundCommand extends ChildMessage {
  type: 'command';
  action: 'round' | 'stop';
  phases?: GuardPhase[];
}

export interface GuardPhaseResult extends ClosedLoopResult {
  kind: GuardPhaseKind;
  measured: boolean;
  /** Questions seeded for a reply phase (the replies it could send at most). */
  seeded: number;
}

export interface GuardRoundResult extends ChildMessage {
  type: 'round-result';
  results: GuardPhaseResult[];
}

/** What the o200k estimate of one body costs in this process, idle, in microseconds. */
export interface TokenizerCost {
  fillerUs: number;
  fillerTokens: number;
  proseUs: number;
  proseTokens: number;
  /** The same prose as a model often writes it: typographic apostrophes and dashes. */
  typographicUs: number;
  typographicTokens: number;
}

export interface GuardCoreResult {
  /** Null in the pass-through run. */
  tokenizer: TokenizerCost | null;
}

/** Some English, for the tokenizer's cost on text that is not the bench's filler. */
const PROSE =
  'Thanks for the draft. I read the summary and the three open questions at the end. ' +
  'The first one is settled: the nightly export can move to the new bucket once the ' +
  'retention policy is in place, and I will ask the storage team to confirm the date. ' +
  'For the second, I would rather not retry failed uploads more than twice; if the ' +
  'upstream service is down for longer, we should stop, report the error and let the ' +
  'operator decide. The third needs more data. Could you run the comparison again on last ' +
  "week's logs, split by region, and send me the table with the median and the 99th " +
  'percentile for each? If the difference holds outside Europe, I agree we should change ' +
  'the default before the release. Please also note which runs were interrupted, so that ' +
  'we do not count them twice, and attach the script you used. I will be away on Friday, ' +
  'so if anything is blocked, write to the planner directly. ';

/**
 * Timed passes over the texts, of which the median is taken: one pass of 2,000 texts takes up
 * to some 80 ms, which a collection or the other core's work can double.
 */
const TIMED_PASSES = 5;

/** Microseconds per call of `estimate` over `texts`: the median pass, after a warm-up pass. */
function timePerCall(texts: string[], estimate: (text: string) => number): number {
  for (const text of texts) estimate(text);
  const passes: number[] = [];
  for (let pass = 0; pass < TIMED_PASSES; pass++) {
    const started = performance.now();
    for (const text of texts) estimate(text);
    passes.push(((performance.now() - started) * 1000) / texts.length);
  }
  return passes.sort((a, b) => a - b)[TIMED_PASSES >> 1];
}

function tokenizerCost(contentBytes: number, body: (seq: number) => string): TokenizerCost {
  const { estimateTokens } = loadBuilt<TokenEstimateExports>('safety/token-estimate.js');
  const estimate = (text: string): number => estimateTokens(text, null);
  const count = 2_000;
  const filler = Array.from({ length: count }, (_, i) => body(1_000_000_000 + i));
  const prose = Array.from({ length: count }, (_, i) =>
    `${i} ${PROSE.repeat(Math.ceil(contentBytes / PROSE.length))}`.slice(0, contentBytes),
  );
  // One character past U+00FF makes V8 hold the whole string in two bytes a character, where
  // the tokenizer's pattern runs several times slower than on one byte
  // (src/safety/o200k-pieces.ts finds most pieces without it).
  const typographic = prose.map((text) =>
    text.replaceAll("'", '\u2019').replaceAll('; ', ' \u2014 '),
  );
  return {
    fillerUs: timePerCall(filler, estimate),
    fillerTokens: estimate(filler[0]),
    proseUs: timePerCall(prose, estimate),
    proseTokens: estimate(prose[0]),
    typographicUs: timePerCall(typographic, estimate),
    typographicTokens: estimate(typographic[0]),
  };
}

runAsChild<GuardCoreRequest, GuardCoreResult>(async (request, parent) => {
  const { senders, recipients, inFlight } = request;
  const pairs = senders.length;
  // Built the same way in both runs; without the guards, admit() resolves at once, no send has
  // guards run in the call that stores it (guards() gives none), and what the router asks of
  // the guards after a send does nothing. Every name must be SafetyService's: a method renamed
  // there fails the type check here rather than the baseline's run.
  const passThrough: ProviderReplacement = {
    path: 'safety/safety.service.js',
    exportName: 'SafetyService',
    value: {
      admit: (): Promise<void> => Promise.resolve(),
      guards: (): null => null,
      senderAdmitted: (): void => undefined,
      refund: (): Promise<void> => Promise.resolve(),
    } satisfies Partial<Record<keyof SafetyService, unknown>>,
  };
  const mailboxes = [...senders, ...Object.values(recipients).flat()];
  const replace = request.guards ? [] : [passThrough];
  const { app, router, RouteStatus } = await startInProcess(request.environment, mailboxes, {
    replace,
  });
  // Every body unique (the duplicate guard), `contentBytes` long as in c: a numbered head and
  // filler.
  const filler = 'x'.repeat(request.contentBytes);
  let sequence = 0;
  const body = (seq: number): string => {
    const head = `bench j ${seq} `;
    return head + filler.slice(head.length);
  };
  const acknowledged = (routed: RouteResult): boolean =>
    routed.messageId !== '' && routed.status !== RouteStatus.FAILED;

  /** `count` questions, recipients[set][i] to senders[i], `inFlight` at a time. */
  const seed = async (set: string[], count: number): Promise<Array<[number, string]>> => {
    const questions: Array<[number, string]> = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < count) {
          const pair = next++ % pairs;
          const routed = await router.route({
            sender: set[pair],
            mode: 'DIRECT',
            target: senders[pair],
            content: `question ${sequence++}`,
          } as SendMessageInput);
          if (!acknowledged(routed)) throw new Error(`question refused: ${routed.status}`);
          questions.push([pair, routed.messageId]);
        }
      }),
    );
    return questions;
  };

  const tokenizer = request.guards ? tokenizerCost(request.contentBytes, body) : null;
  parent.send({ type: 'ready' });
  // Sends per millisecond in the last fresh and the last reply phase: they size the questions
  // of the next reply phase.
  let freshRate = 0;
  let replyRate = 0;
  try {
    for (;;) {
      const command = await parent.next<GuardRoundCommand>('command');
      if (command.action === 'stop') break;
      const results: GuardPhaseResult[] = [];
      for (const phase of command.phases ?? []) {
        const set = recipients[phase.recipients];
        let operation: () => Promise<boolean>;
        let seeded = 0;
        if (phase.kind === 'fresh') {
          let next = 0;
          operation = async () => {
            const pair = next++ % pairs;
            return acknowledged(
              await router.route({
                sender: senders[pair],
                mode: 'DIRECT',
                target: set[pair],
                content: body(sequence++),
              } as SendMessageInput),
            );
          };
        } else {
          // A reply costs more than a fresh send: half as many again as the last fresh phase's
          // sends, or three times the last reply phase's if fewer, leave room for a faster
          // round. Running out shows as failed sends.
          const rate = Math.min(freshRate, replyRate > 0 ? 2 * replyRate : Infinity);
          const questions = await seed(set, Math.ceil(1.5 * rate * phase.durationMs) + inFlight);
          seeded = questions.length;
          let next = 0;
          operation = async () => {
            const question = questions[next++];
            if (question === undefined) {
              // Not a busy loop of failures until the phase ends.
              await new Promise((resolve) => setTimeout(resolve, 10));
              throw new Error('no question left to answer');
            }
            const [pair, id] = question;
            return acknowledged(
              await router.route({
                sender: senders[pair],
                mode: 'DIRECT',
                content: body(sequence++),
                inReplyTo: id,
              } as SendMessageInput),
            );
          };
        }
        if (phase.measured) parent.send({ type: 'measure-start', phase: phase.name });
        const result = await closedLoop(phase.name, inFlight, phase.durationMs, operation);
        if (phase.measured) parent.send({ type: 'measure-end', phase: phase.name });
        if (phase.kind === 'fresh') freshRate = result.okInWindow / result.windowMs;
        else replyRate = result.okInWindow / result.windowMs;
        results.push({ ...result, kind: phase.kind, measured: phase.measured, seeded });
      }
      parent.send({ type: 'round-result', results } satisfies GuardRoundResult);
    }
    return { tokenizer };
  } finally {
    await app.close();
  }
});
