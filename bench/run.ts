/**
 * `npm run bench`: builds the service if src/ changed (a build of its own, see lib/build.ts), starts a private redis-server, runs
 * each scenario (service and baseline in the same run), prints one line per figure and
 * writes the same to bench/results/<timestamp>.json and bench/results/latest.json.
 *
 * Exit code: 1 when a check (exactly-once and the like) fails or a scenario cannot run;
 * with --strict also when a target is missed; 2 for a bad command line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { bodyKind, type BodyKind } from './lib/bodies';
import { buildService } from './lib/build';
import { BENCH_DIR, killAllChildren } from './lib/children';
import { BenchContext, type Scenario } from './lib/context';
import { describeMachine, loadWarning, machineLine, type MachineInfo } from './lib/machine';
import { parseOptions, USAGE, UsageError } from './lib/options';
import { RedisServer } from './lib/redis-server';
import { checkLine, figureLine, type Check, type Figure } from './lib/report';
import { SERVICE_ENV } from './lib/service';
import { ingress } from './scenarios/a-ingress';
import { batchIngress } from './scenarios/b-batch-ingress';
import { routerCore } from './scenarios/c-router-core';
import { endToEnd } from './scenarios/d-end-to-end';
import { fanOut } from './scenarios/e-fan-out';
import { memory } from './scenarios/f-memory';
import { search } from './scenarios/g-search';
import { conversations } from './scenarios/h-conversations';
import { mcp } from './scenarios/i-mcp';
import { guards } from './scenarios/j-guards';
import { consoleTable } from './scenarios/k-console';
import { listings } from './scenarios/l-listings';
import { peerScenarios } from './scenarios/w-peers';

const SCENARIOS: Scenario[] = [
  ingress,
  batchIngress,
  routerCore,
  endToEnd,
  fanOut,
  memory,
  search,
  conversations,
  mcp,
  guards,
  consoleTable,
  listings,
  ...peerScenarios,
];

/** Names --only takes for several scenarios at once: `w` (or `peers`) runs w1 to w4. */
const GROUPS = new Map<string, string[]>([
  ['w', peerScenarios.map((s) => s.id)],
  ['peers', peerScenarios.map((s) => s.id)],
]);

interface ScenarioRecord {
  id: string;
  name: string;
  seconds: number;
  error: string | null;
  notes: string[];
}

interface BenchReport {
  startedAt: string;
  finishedAt: string;
  totalSeconds: number;
  machine: MachineInfo;
  options: {
    only: string[] | null;
    durationSeconds: number;
    warmupSeconds: number;
    strict: boolean;
    bodies: BodyKind;
  };
  serviceEnvironment: Record<string, string>;
  figures: Figure[];
  checks: Check[];
  scenarios: ScenarioRecord[];
  summary: {
    figures: number;
    pass: number;
    fail: number;
    info: number;
    checksFailed: number;
    scenarioErrors: number;
  };
  exitCode: number;
}

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const progress = (line: string): void => void process.stderr.write(`  .. ${line}\n`);

function knownNames(): Map<string, string> {
  const names = new Map<string, string>();
  for (const scenario of SCENARIOS) {
    names.set(scenario.id, scenario.id);
    names.set(scenario.name, scenario.id);
  }
  for (const group of GROUPS.keys()) names.set(group, group);
  return names;
}

function writeResults(report: BenchReport): string {
  const directory = join(BENCH_DIR, 'results');
  mkdirSync(directory, { recursive: true });
  const file = join(directory, `${report.startedAt.replace(/:/g, '-')}.json`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, json);
  writeFileSync(join(directory, 'latest.json'), json);
  return file;
}

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2), knownNames());
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (!options) {
    out(USAGE);
    return 0;
  }
  let bodies: BodyKind;
  try {
    bodies = bodyKind();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const started = new Date();
  const loadAtStart = loadavg()[0];
  buildService(progress);
  const redis = await RedisServer.start();
  const figures: Figure[] = [];
  const checks: Check[] = [];
  const records: ScenarioRecord[] = [];
  try {
    const machine = await describeMachine(redis, loadAtStart);
    out(machineLine(machine));
    const warning = loadWarning(machine);
    if (warning) out(warning);
    out(
      `phases: ${options.warmupMs / 1000} s warm-up, ${options.durationMs / 1000} s measured; ` +
        `service: NODE_ENV=${SERVICE_ENV.NODE_ENV} AUTH_ENABLED=${SERVICE_ENV.AUTH_ENABLED} ` +
        `RATE_LIMIT_PER_MINUTE=${SERVICE_ENV.RATE_LIMIT_PER_MINUTE} LOG_LEVEL=${SERVICE_ENV.LOG_LEVEL}; ` +
        `bodies: ${bodies}${bodies === 'filler' ? '' : ' (BENCH_BODIES)'}`,
    );
    out('');
    const context = new BenchContext(options, redis, progress);
    const selected = SCENARIOS.filter(
      (s) =>
        !options.only || options.only.some((id) => id === s.id || GROUPS.get(id)?.includes(s.id)),
    );
    for (const scenario of selected) {
      const scenarioStart = Date.now();
      process.stderr.write(`[${scenario.id}] ${scenario.name}\n`);
      await redis.client.flushall();
      const record: ScenarioRecord = {
        id: scenario.id,
        name: scenario.name,
        seconds: 0,
        error: null,
        notes: [],
      };
      try {
        const outcome = await scenario.run(context);
        context.earlier.set(scenario.id, outcome);
        figures.push(...outcome.figures);
        checks.push(...outcome.checks);
        record.notes = outcome.notes;
        for (const f of outcome.figures) out(figureLine(f));
        for (const c of outcome.checks) out(checkLine(c));
        for (const note of outcome.notes.slice(0, 5)) out(`   note ${note}`);
        if (outcome.notes.length > 5)
          out(`   note ... ${outcome.notes.length - 5} more in the JSON`);
      } catch (error) {
        record.error = (error as Error).stack ?? String(error);
        out(
          `${scenario.id}  ${scenario.name}: could not run: ${(error as Error).message.split('\n')[0]}`,
        );
      }
      record.seconds = Math.round((Date.now() - scenarioStart) / 100) / 10;
      records.push(record);
    }

    const finished = new Date();
    const failedChecks = checks.filter((c) => !c.ok).length;
    const errors = records.filter((r) => r.error !== null).length;
    const missed = figures.filter((f) => f.pass === false).length;
    const exitCode = failedChecks > 0 || errors > 0 || (options.strict && missed > 0) ? 1 : 0;
    const report: BenchReport = {
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      totalSeconds: Math.round((finished.getTime() - started.getTime()) / 100) / 10,
      machine,
      options: {
        only: options.only,
        durationSeconds: options.durationMs / 1000,
        warmupSeconds: options.warmupMs / 1000,
        strict: options.strict,
        bodies,
      },
      serviceEnvironment: { ...SERVICE_ENV },
      figures,
      checks,
      scenarios: records,
      summary: {
        figures: figures.length,
        pass: figures.filter((f) => f.pass === true).length,
        fail: missed,
        info: figures.filter((f) => f.pass === null).length,
        checksFailed: failedChecks,
        scenarioErrors: errors,
      },
      exitCode,
    };
    const file = writeResults(report);
    out('');
    out(
      `${report.summary.pass} PASS, ${missed} FAIL, ${report.summary.info} INFO; ` +
        `checks: ${checks.length - failedChecks} ok, ${failedChecks} failed; ` +
        `${errors} scenarios could not run; ${report.totalSeconds} s; ` +
        `results: ${file.slice(BENCH_DIR.length - 'bench'.length)}`,
    );
    return exitCode;
  } finally {
    await redis.stop();
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllChildren();
    process.exit(130);
  });
}

main().then(
  (code) => {
    killAllChildren();
    process.exitCode = code;
  },
  (error: unknown) => {
    killAllChildren();
    process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
