/**
 * j. Guards: what the safety guards (SafetyService.admit: the o200k token estimate, the
 * sender's guard script, the thread's for a reply, the recipient's contact policy) cost per
 * send. The router core in process (as c), 64 sends in flight over many sender/recipient
 * pairs, with the guards at their production defaults and limits this load does not reach,
 * against the same application with SafetyService replaced by a pass-through. Each runs in
 * a child process of its own, both alive at once, measured in alternating rounds (as a):
 * fresh DIRECT sends, then DIRECT replies (inReplyTo: the thread guard runs too).
 */
import type {
  GuardCoreRequest,
  GuardCoreResult,
  GuardPhase,
  GuardPhaseKind,
  GuardPhaseResult,
  GuardRoundCommand,
  GuardRoundResult,
} from '../clients/guard-core';
import { mailboxMessagesKey } from '../lib/checks';
import { ChildHandle, terminate } from '../lib/children';
import type { BenchContext, Scenario } from '../lib/context';
import { CpuMeter, perUnit } from '../lib/cpu';
import { mailboxNames } from '../lib/graphql';
import { figure, type Check, type ScenarioOutcome } from '../lib/report';
import { KEY_PREFIX, SERVICE_ENV } from '../lib/service';
import { CONTENT_BYTES, perSecond } from './a-ingress';
import { IN_FLIGHT } from './c-router-core';

const ID = 'j';
/** Sender/recipient pairs: sends go round-robin over them. */
export const GUARD_PAIRS = 128;
/** Measured rounds per run and figure; the measured time is split evenly between them. */
export const GUARD_ROUNDS = 4;

/**
 * The guards as in production (ROUTER_MAX_HOPS 8, ROUTER_MAX_VISITS 3, DUPLICATE_WINDOW
 * 600 s, no daily token budget), but for the pair window, at its maximum: the defaults of
 * SERVICE_ENV turn the pair window and the duplicate guard off for the other scenarios.
 */
export const GUARD_ENV: Readonly<Record<string, string>> = {
  PAIR_RATE_LIMIT_PER_MINUTE: '1000000',
  DUPLICATE_WINDOW: '600',
  ROUTER_MAX_VISITS: '3',
  ROUTER_MAX_HOPS: '8',
  MAILBOX_DAILY_TOKEN_BUDGET: '0',
};

const RUNS = ['on', 'off'] as const;
type Run = (typeof RUNS)[number];
const KINDS: GuardPhaseKind[] = ['fresh', 'reply'];
const KIND_LABEL: Record<GuardPhaseKind, string> = { fresh: 'fresh sends', reply: 'replies' };

/** The mailboxes of one run: its senders and, per phase, the other side of each pair. */
function mailboxesOf(run: Run): { senders: string[]; recipients: Record<string, string[]> } {
  const names = (role: string): string[] => mailboxNames(`bench-j-${run}-${role}`, GUARD_PAIRS);
  return {
    senders: names('s'),
    recipients: {
      fresh: names('to'),
      'fresh-warmup': names('wto'),
      reply: names('ask'),
      'reply-warmup': names('wask'),
    },
  };
}

interface Tally {
  /** Measured phases only. */
  okInWindow: number;
  windowMs: number;
  ok: number;
  /** Every phase, warm-ups included: the sends the guards counted. */
  okAll: number;
  failed: number;
  seeded: number;
  errors: string[];
  cpuMs: Record<string, number>;
  rounds: GuardPhaseResult[];
}

function emptyTally(): Tally {
  return {
    okInWindow: 0,
    windowMs: 0,
    ok: 0,
    okAll: 0,
    failed: 0,
    seeded: 0,
    errors: [],
    cpuMs: {},
    rounds: [],
  };
}

/** One run's child: its application, booted once, and what its rounds measured. */
class GuardRun {
  readonly tallies = new Map<GuardPhaseKind, Tally>(KINDS.map((kind) => [kind, emptyTally()]));
  private warmedUp = false;

  private constructor(
    readonly run: Run,
    readonly child: ChildHandle,
  ) {}

  static async start(context: BenchContext, run: Run): Promise<GuardRun> {
    const request: GuardCoreRequest = {
      environment: { ...SERVICE_ENV, ...GUARD_ENV, REDIS_URL: context.redis.url },
      guards: run === 'on',
      inFlight: IN_FLIGHT,
      contentBytes: CONTENT_BYTES,
      ...mailboxesOf(run),
    };
    const child = ChildHandle.start('clients/guard-core.ts', request);
    try {
      await child.next('ready', 120_000);
    } catch (error) {
      await terminate(child.process);
      throw error;
    }
    return new GuardRun(run, child);
  }

  /** One round: fresh sends, then replies; the first starts each with its warm-up. */
  async round(context: BenchContext, roundMs: number): Promise<void> {
    const { warmupMs } = context.options;
    const phases: GuardPhase[] = [];
    for (const kind of KINDS) {
      if (!this.warmedUp && warmupMs > 0) {
        const recipients = `${kind}-warmup`;
        phases.push({ name: recipients, kind, durationMs: warmupMs, recipients, measured: false });
      }
      phases.push({ name: kind, kind, durationMs: roundMs, recipients: kind, measured: true });
    }
    this.warmedUp = true;
    this.child.send({ type: 'command', action: 'round', phases } satisfies GuardRoundCommand);
    const meter = new CpuMeter({ service: this.child.pid, redis: context.redis.pid });
    for (const phase of phases.filter((p) => p.measured)) {
      await this.child.next('measure-start');
      meter.start();
      await this.child.next('measure-end');
      const total = this.tallies.get(phase.kind)!.cpuMs;
      for (const [name, ms] of Object.entries(meter.stop())) total[name] = (total[name] ?? 0) + ms;
    }
    const { results } = await this.child.next<GuardRoundResult>('round-result');
    for (const result of results) {
      const tally = this.tallies.get(result.kind)!;
      tally.okAll += result.ok;
      tally.failed += result.failed;
      tally.errors.push(...result.errors);
      if (!result.measured) continue;
      tally.okInWindow += result.okInWindow;
      tally.windowMs += result.windowMs;
      tally.ok += result.ok;
      tally.seeded += result.seeded;
      tally.rounds.push(result);
    }
  }

  async stop(): Promise<GuardCoreResult> {
    this.child.send({ type: 'command', action: 'stop' } satisfies GuardRoundCommand);
    return this.child.result<GuardCoreResult>(60_000);
  }

  rate(kind: GuardPhaseKind): number {
    const tally = this.tallies.get(kind)!;
    return perSecond(tally.okInWindow, tally.windowMs);
  }
}

const count = (n: number): string => n.toLocaleString('en-US');

/** The measured phases' acknowledged sends against the messages their recipients hold. */
async function storedOnce(context: BenchContext, run: GuardRun, kind: GuardPhaseKind) {
  const recipients = mailboxesOf(run.run).recipients[kind];
  const pipeline = context.redis.client.pipeline();
  for (const name of recipients) pipeline.zcard(mailboxMessagesKey(name));
  const replies = (await pipeline.exec()) ?? [];
  const stored = replies.reduce((sum, [, value]) => sum + Number(value), 0);
  const tally = run.tallies.get(kind)!;
  const first = mailboxMessagesKey(recipients[0]);
  const last = recipients[recipients.length - 1].slice(recipients[0].lastIndexOf('-') + 1);
  return {
    scenario: ID,
    name: `stored exactly once (guards ${run.run}, ${KIND_LABEL[kind]})`,
    ok: tally.ok > 0 && stored === tally.ok,
    detail:
      `${count(tally.ok)} acknowledged; ${count(stored)} stored ` +
      `(ZCARD ${first.replace('}', `..${last}}`)}, summed)`,
  } satisfies Check;
}

/** YYYY-MM-DD of every UTC day from `from` to `to`: a run may cross midnight. */
function utcDays(from: number, to: number): string[] {
  const days = new Set<string>();
  for (let t = from; t < to + 86_400_000; t += 86_400_000) {
    days.add(new Date(Math.min(t, to)).toISOString().slice(0, 10));
  }
  return [...days];
}

/** Keys by kind in one pass over the keyspace: thread guard states, guard keys of `prefix`. */
async function scanGuardKeys(
  context: BenchContext,
  senderPrefix: string,
): Promise<{ threadGuards: number; senderGuardKeys: number }> {
  const threadGuard = new RegExp(`^${KEY_PREFIX}thread:\\{[0-9a-f]+\\}:guard$`);
  const senderGuard = new RegExp(
    `^${KEY_PREFIX}mailbox:\\{${senderPrefix}[^}]*\\}:(tokens|pair|dup):`,
  );
  let cursor = '0';
  let threadGuards = 0;
  let senderGuardKeys = 0;
  do {
    const [next, keys] = await context.redis.client.scan(cursor, 'COUNT', 10_000);
    cursor = next;
    for (const key of keys) {
      if (threadGuard.test(key)) threadGuards += 1;
      else if (senderGuard.test(key)) senderGuardKeys += 1;
    }
  } while (cursor !== '0');
  return { threadGuards, senderGuardKeys };
}

/**
 * The guards ran on every send of the guarded run (each sender's token counter of the day
 * counts its sends, and every reply's thread has guard state) and on none of the pass-through
 * run (no token counter, pair window or duplicate mark under its mailboxes, and no thread
 * state beyond the guarded run's).
 */
async function guardsRan(context: BenchContext, on: GuardRun, startedAt: number): Promise<Check[]> {
  const days = utcDays(startedAt, Date.now());
  const senders = mailboxesOf('on').senders;
  const pipeline = context.redis.client.pipeline();
  for (const sender of senders) {
    for (const day of days) {
      pipeline.hmget(`${KEY_PREFIX}mailbox:{${sender}}:tokens:${day}`, 'total', 'messages');
    }
  }
  const replies = (await pipeline.exec()) ?? [];
  const totals = new Map<string, number>();
  let messages = 0;
  replies.forEach(([, value], index) => {
    const [total, sent] = (value as Array<string | null>).map(Number);
    const sender = senders[Math.floor(index / days.length)];
    totals.set(sender, (totals.get(sender) ?? 0) + total);
    messages += sent;
  });
  const tokens = [...totals.values()].reduce((sum, total) => sum + total, 0);
  const counted = [...totals.values()].filter((total) => total > 0).length;
  const sends = KINDS.reduce((sum, kind) => sum + on.tallies.get(kind)!.okAll, 0);
  const replied = on.tallies.get('reply')!.okAll;
  const keys = await scanGuardKeys(context, 'bench-j-off-');
  const tokensKey = `${KEY_PREFIX}mailbox:{bench-j-on-s-*}:tokens:${days.join('|')}`;
  return [
    {
      scenario: ID,
      name: 'guards ran on every send (guards on)',
      ok: counted === senders.length && messages === sends && keys.threadGuards >= replied,
      detail:
        `${tokensKey}: total > 0 for ${counted} of ${senders.length} senders ` +
        `(${count(tokens)} tokens), messages ${count(messages)} = ${count(sends)} sends ` +
        `acknowledged (warm-ups included); ${count(keys.threadGuards)} threads with guard state ` +
        `for ${count(replied)} replies`,
    },
    {
      scenario: ID,
      name: 'guards did not run (guards off)',
      ok: keys.senderGuardKeys === 0 && keys.threadGuards === replied,
      detail:
        `${count(keys.senderGuardKeys)} token counters, pair windows or duplicate marks under ` +
        `mailbox:{bench-j-off-*}; thread guard states ${count(keys.threadGuards)} = the guarded ` +
        `run's replies ${count(replied)}`,
    },
  ];
}

/** "guards on: service 61 us, redis 22 us; guards off: ...; the guards: +31 us, +12 us" */
function cpuNote(what: string, on: Tally, off: Tally): string {
  const onUs = perUnit(on.cpuMs, on.ok);
  const offUs = perUnit(off.cpuMs, off.ok);
  const us = (ms: number | undefined): string => `${((ms ?? NaN) * 1000).toFixed(0)} us`;
  const plus = (ms: number): string => `${ms >= 0 ? '+' : ''}${(ms * 1000).toFixed(0)} us`;
  return (
    `${what}, CPU per message in the measured phases (service = the Nest process): ` +
    `guards on service ${us(onUs.service)}, redis ${us(onUs.redis)}; ` +
    `guards off service ${us(offUs.service)}, redis ${us(offUs.redis)}; ` +
    `the guards ${plus(onUs.service - offUs.service)} service, ` +
    `${plus(onUs.redis - offUs.redis)} redis`
  );
}

export const guards: Scenario = {
  id: ID,
  name: 'guards',
  async run(context): Promise<ScenarioOutcome> {
    const { durationMs } = context.options;
    const roundMs = Math.max(1000, Math.round(durationMs / GUARD_ROUNDS));
    const startedAt = Date.now();
    context.log(`router in process, guards on and admit() a no-op: ${GUARD_PAIRS} pairs each`);
    const runs = new Map<Run, GuardRun>();
    let tokenizer: GuardCoreResult['tokenizer'] = null;
    try {
      for (const run of RUNS) runs.set(run, await GuardRun.start(context, run));
      context.log(
        `${GUARD_ROUNDS} alternating rounds of ${roundMs / 1000} s fresh sends and replies, ` +
          `${IN_FLIGHT} in flight`,
      );
      for (let round = 0; round < GUARD_ROUNDS; round++) {
        for (const run of round % 2 === 0 ? RUNS : [...RUNS].reverse()) {
          await runs.get(run)!.round(context, roundMs);
        }
      }
      for (const run of RUNS) {
        const result = await runs.get(run)!.stop();
        tokenizer ??= result.tokenizer;
      }
    } finally {
      for (const run of runs.values()) await terminate(run.child.process);
    }
    const on = runs.get('on')!;
    const off = runs.get('off')!;

    const checks: Check[] = [];
    for (const run of [on, off]) {
      for (const kind of KINDS) checks.push(await storedOnce(context, run, kind));
    }
    checks.push(...(await guardsRan(context, on, startedAt)));
    const refused = [on, off].flatMap((run) =>
      KINDS.map((kind) => ({ run: run.run, kind, tally: run.tallies.get(kind)! })),
    );
    const failed = refused.reduce((sum, entry) => sum + entry.tally.failed, 0);
    checks.push({
      scenario: ID,
      name: 'no send refused (the load reaches no limit)',
      ok: failed === 0,
      detail:
        failed === 0
          ? 'every send of both runs acknowledged, warm-ups included'
          : refused
              .filter((entry) => entry.tally.failed > 0)
              .map(
                ({ run, kind, tally }) =>
                  `guards ${run} ${KIND_LABEL[kind]}: ${count(tally.failed)} failed, first: ` +
                  (tally.errors[0] ?? '(no message)'),
              )
              .join('; '),
    });

    const baseline = 'guards off (no-op admit)';
    const details = (kind: GuardPhaseKind) => ({
      on: on.tallies.get(kind),
      off: off.tallies.get(kind),
      environment: GUARD_ENV,
      pairs: GUARD_PAIRS,
      rounds: GUARD_ROUNDS,
    });
    const notes = [
      cpuNote('fresh DIRECT', on.tallies.get('fresh')!, off.tallies.get('fresh')!),
      cpuNote('DIRECT reply', on.tallies.get('reply')!, off.tallies.get('reply')!),
    ];
    if (tokenizer) {
      notes.push(
        `o200k estimate of one ${CONTENT_BYTES} B body in the Nest process, idle: this load's ` +
          `(numbered head and filler) ${tokenizer.fillerUs.toFixed(1)} us for ` +
          `${tokenizer.fillerTokens} tokens; English prose ${tokenizer.proseUs.toFixed(1)} us ` +
          `for ${tokenizer.proseTokens} tokens; the same with typographic apostrophes and ` +
          `dashes ${tokenizer.typographicUs.toFixed(1)} us for ${tokenizer.typographicTokens} tokens`,
      );
    }
    const seeded = (run: GuardRun): string => count(run.tallies.get('reply')!.seeded);
    notes.push(
      `${GUARD_ROUNDS} rounds of ${roundMs / 1000} s per run and figure, on then off, then off ` +
        `then on; questions seeded for the measured replies (one reply each at most): ` +
        `${seeded(on)} (on), ${seeded(off)} (off)`,
    );
    for (const entry of refused) {
      for (const error of entry.tally.errors) {
        notes.push(`guards ${entry.run} ${entry.kind} error: ${error}`);
      }
    }
    return {
      figures: [
        figure(
          ID,
          `guards route() DIRECT 1 KiB, ${IN_FLIGHT} in flight`,
          on.rate('fresh'),
          'msg/s',
          { label: baseline, value: off.rate('fresh') },
          null,
          details('fresh'),
        ),
        figure(
          ID,
          `guards route() DIRECT reply 1 KiB, ${IN_FLIGHT} in flight`,
          on.rate('reply'),
          'msg/s',
          { label: baseline, value: off.rate('reply') },
          null,
          details('reply'),
        ),
      ],
      checks,
      notes,
    };
  },
};
