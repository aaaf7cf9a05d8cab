import { SchedulerRegistry } from '@nestjs/schedule';
import { ManualClock } from '../common/clock';
import type { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import { JobRunner } from './job-runner.service';
import { strict } from '../../test/utils/strict';

/** Lets the promise callbacks queued so far run (a run's end passes through three). */
async function settled(): Promise<void> {
  for (let turn = 0; turn < 10; turn += 1) await Promise.resolve();
}

/** One run of a job, held open by the test: it reports progress and ends when told. */
interface HeldRun {
  progress: () => void;
  stopping: () => boolean;
  finish: () => void;
}

describe(JobRunner.name, () => {
  const INTERVAL_MS = 1_000;
  let clock: ManualClock;
  let runner: JobRunner;
  let runs: HeldRun[];

  /** Registers `job`, each run held until the test finishes it. */
  const holdRuns = (intervalMs = INTERVAL_MS): void => {
    runner.every('job', intervalMs, (stopping, progress) => {
      return new Promise<void>((resolve) => {
        runs.push({ progress, stopping, finish: resolve });
      });
    });
  };

  const alive = (): boolean => runner.reports().find((report) => report.name === 'job')!.alive;

  beforeEach(() => {
    jest.useFakeTimers();
    clock = new ManualClock(1_000_000);
    runner = new JobRunner(
      new SchedulerRegistry(),
      strict<RedisCircuitBreaker>({ closed: true }),
      clock,
    );
    runs = [];
  });

  afterEach(async () => {
    for (const run of runs) run.finish();
    await runner.onModuleDestroy();
    jest.useRealTimers();
  });

  it('keeps a run alive however long it lasts while it reports progress', () => {
    holdRuns();
    jest.advanceTimersByTime(INTERVAL_MS);
    expect(runs).toHaveLength(1);
    // Ten minutes through a backlog, a batch every 50 s: never a minute without progress.
    for (let batch = 0; batch < 12; batch += 1) {
      clock.advance(50_000);
      runs[0].progress();
      expect(alive()).toBe(true);
    }
    expect(runner.allAlive).toBe(true);
  });

  it('counts a run as stuck once it has gone a minute without progress', async () => {
    holdRuns();
    jest.advanceTimersByTime(INTERVAL_MS);
    clock.advance(30_000);
    runs[0].progress();
    clock.advance(60_000);
    expect(alive()).toBe(true);
    clock.advance(1);
    expect(alive()).toBe(false);
    expect(runner.allAlive).toBe(false);
    // Progress again, or the end of the run, brings it back.
    runs[0].progress();
    expect(alive()).toBe(true);
    clock.advance(60_001);
    expect(alive()).toBe(false);
    runs[0].finish();
    await settled();
    expect(alive()).toBe(true);
    expect(runner.reports()[0].runs).toBe(1);
  });

  it('counts a run that never reports progress as stuck a minute after it started', () => {
    holdRuns();
    jest.advanceTimersByTime(INTERVAL_MS);
    clock.advance(60_000);
    expect(alive()).toBe(true);
    clock.advance(1);
    expect(alive()).toBe(false);
  });

  it('waits five intervals without progress when that is longer than a minute', () => {
    holdRuns(20_000);
    jest.advanceTimersByTime(20_000);
    clock.advance(100_000);
    expect(alive()).toBe(true);
    runs[0].progress();
    clock.advance(100_001);
    expect(alive()).toBe(false);
  });

  it('does not count the progress of an earlier run for the run in progress', async () => {
    holdRuns();
    jest.advanceTimersByTime(INTERVAL_MS);
    const first = runs[0];
    first.finish();
    await settled();
    jest.advanceTimersByTime(INTERVAL_MS);
    expect(runs).toHaveLength(2);
    clock.advance(60_001);
    // A straggler of the first run reports late: the second has still done nothing.
    first.progress();
    expect(alive()).toBe(false);
    runs[1].progress();
    expect(alive()).toBe(true);
  });

  it('tells a run that the instance is stopping, and waits for it', async () => {
    holdRuns();
    jest.advanceTimersByTime(INTERVAL_MS);
    expect(runs[0].stopping()).toBe(false);
    let stopped = false;
    const destroying = runner.onModuleDestroy().then(() => {
      stopped = true;
    });
    expect(runs[0].stopping()).toBe(true);
    await Promise.resolve();
    expect(stopped).toBe(false);
    runs[0].finish();
    await destroying;
    expect(stopped).toBe(true);
  });
});
