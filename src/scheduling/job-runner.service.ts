import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Clock } from '../common/clock';
import { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';

interface JobState {
  intervalMs: number;
  running: Promise<void> | null;
  /** Counts the runs started: a progress report counts for the run that made it alone. */
  started: number;
  /** When the run in progress started or last reported progress. */
  progressAt: number | null;
  lastFinishedAt: number | null;
  lastError: string | null;
  runs: number;
}

export interface JobReport {
  name: string;
  alive: boolean;
  runs: number;
  lastFinishedAt: number | null;
  lastError: string | null;
}

/**
 * A run that has reported no progress (see JobRunner.every) for longer than this many
 * intervals, and at least a minute, counts as stuck.
 */
const STUCK_INTERVALS = 5;

/**
 * Runs the background loops as @nestjs/schedule intervals whose periods come from the
 * configuration, never two runs of one job at a time, and reports whether each is alive
 * (registered and not stuck) for readiness and statistics.
 */
@Injectable()
export class JobRunner implements OnModuleDestroy {
  private readonly logger = new Logger(JobRunner.name);
  private readonly jobs = new Map<string, JobState>();
  private stopping = false;

  constructor(
    private readonly scheduler: SchedulerRegistry,
    private readonly breaker: RedisCircuitBreaker,
    private readonly clock: Clock,
  ) {}

  /**
   * `work` is given whether the instance is stopping, for a run that goes on in steps (a
   * backlog): shutdown waits for the run in progress, which should end at its next step. It
   * is given `progress` too, to call after each step: a run counts as stuck when it has gone
   * long without one, not when it has gone long. A run through a large backlog (after an
   * outage, a broadcast to every mailbox) is healthy however long it takes, and readiness
   * must not fail on every instance at once because of it.
   */
  every(
    name: string,
    intervalMs: number,
    work: (stopping: () => boolean, progress: () => void) => Promise<unknown>,
  ): void {
    const state: JobState = {
      intervalMs,
      running: null,
      started: 0,
      progressAt: null,
      lastFinishedAt: null,
      lastError: null,
      runs: 0,
    };
    this.jobs.set(name, state);
    const tick = (): void => {
      // Every loop works on Redis: while its circuit is open, a run would only wait and fail.
      if (state.running || this.stopping || !this.breaker.closed) return;
      const run = (state.started += 1);
      state.progressAt = this.clock.now();
      const progress = (): void => {
        // A step of an earlier run that outlived it (a batch's stragglers) says nothing of this one.
        if (state.started === run) state.progressAt = this.clock.now();
      };
      state.running = work(() => this.stopping, progress)
        .then(() => {
          state.lastError = null;
        })
        .catch((error: unknown) => {
          state.lastError = error instanceof Error ? error.message : String(error);
          this.logger.warn(`${name} run failed: ${state.lastError}`);
        })
        .finally(() => {
          state.running = null;
          state.runs += 1;
          state.lastFinishedAt = this.clock.now();
        });
    };
    this.scheduler.addInterval(name, setInterval(tick, intervalMs));
  }

  reports(): JobReport[] {
    const now = this.clock.now();
    return [...this.jobs].map(([name, state]) => {
      const stuckAfter = Math.max(STUCK_INTERVALS * state.intervalMs, 60_000);
      const stuck =
        state.running !== null && state.progressAt !== null && now - state.progressAt > stuckAfter;
      return {
        name,
        alive: !this.stopping && this.scheduler.doesExist('interval', name) && !stuck,
        runs: state.runs,
        lastFinishedAt: state.lastFinishedAt,
        lastError: state.lastError,
      };
    });
  }

  get allAlive(): boolean {
    return this.jobs.size > 0 && this.reports().every((report) => report.alive);
  }

  /** Stops the timers and waits for runs in progress, so that shutdown cuts no work in half. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    for (const name of this.jobs.keys()) {
      if (this.scheduler.doesExist('interval', name)) this.scheduler.deleteInterval(name);
    }
    await Promise.all([...this.jobs.values()].map((state) => state.running ?? Promise.resolve()));
  }
}
