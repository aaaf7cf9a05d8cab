import { Global, Module, type DynamicModule, type Type } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { Clock } from '../../src/common/clock';
import { ClockModule } from '../../src/common/clock.module';
import { AppConfigModule } from '../../src/config/app-config.module';
import { ConversationsModule } from '../../src/conversations/conversations.module';
import { MessagePriority } from '../../src/messages/message.model';
import { newMessageId } from '../../src/messages/message-id';
import { StatisticsService } from '../../src/metrics/statistics.service';
import { RedisKeys } from '../../src/redis/redis-keys';
import { RedisModule } from '../../src/redis/redis.module';
import { RetryModule } from '../../src/retry/retry.module';
import { JobRunner } from '../../src/scheduling/job-runner.service';
import { SchedulingModule } from '../../src/scheduling/scheduling.module';
import { RedisServer } from '../utils/redis-server';
import { uniquePrefix } from '../utils/test-app';

/** What JobRunner calls stuck: a minute without progress (5 intervals are less here). */
const STUCK_MS = 60_000;
const BATCH = 200;

/**
 * Time that passes with the work, not with the machine: each reading the service makes is
 * `stepMs` after the one before, so that a run through a backlog lasts minutes of this time
 * on any machine, in a second or two of real time. The test's own readings (`look`) do not
 * move it.
 */
class SteppingClock extends Clock {
  private current = 1_700_000_000_000;
  private looking = false;

  constructor(private readonly stepMs: number) {
    super();
  }

  override now(): number {
    if (!this.looking) this.current += this.stepMs;
    return this.current;
  }

  look<T>(read: () => T): T {
    this.looking = true;
    try {
      return read();
    } finally {
      this.looking = false;
    }
  }
}

/** The statistics every module counts into, which the application's MetricsModule provides. */
@Global()
@Module({ providers: [StatisticsService], exports: [StatisticsService] })
class StatisticsModule {}

/**
 * One background job as the application runs it (its module, the JobRunner, a real Redis),
 * on a SteppingClock; nothing else reads the clock. A backlog is seeded in Redis by the test.
 */
interface JobUnderTest {
  redis: Redis;
  clock: SteppingClock;
  runner: JobRunner;
  keys: RedisKeys;
  close(): Promise<void>;
}

async function startJob(jobModule: Type | DynamicModule, stepMs: number): Promise<JobUnderTest> {
  const redisServer = await RedisServer.start();
  const redis = redisServer.client();
  const clock = new SteppingClock(stepMs);
  const module: TestingModule = await Test.createTestingModule({
    imports: [
      AppConfigModule.forRoot({
        NODE_ENV: 'test',
        REDIS_URL: redisServer.url,
        REDIS_KEY_PREFIX: uniquePrefix(),
        ROUTER_RETRY_CHECK_INTERVAL: '0.05',
      }),
      ClockModule,
      RedisModule,
      SchedulingModule,
      StatisticsModule,
      jobModule,
    ],
  })
    .overrideProvider(Clock)
    .useValue(clock)
    .compile();
  // Starts the job (its cron registers it), once the circuit to Redis is closed.
  await module.init();
  return {
    redis,
    clock,
    runner: module.get(JobRunner),
    keys: module.get(RedisKeys),
    close: async () => {
      await module.close();
      redis.disconnect();
      await redisServer.destroy();
    },
  };
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Watches the job at every turn of the event loop from the moment its backlog (of `total`
 * entries, counted by `left`) starts to shrink until it is gone and the run is over. Returns
 * whether it was alive at each look, and how long the run lasted on the job's clock.
 */
async function watchRun(
  job: JobUnderTest,
  total: number,
  left: () => Promise<number>,
): Promise<{ alive: boolean[]; lastedMs: number }> {
  const report = () => job.clock.look(() => job.runner.reports()[0]);
  const runsBefore = report().runs;
  const alive: boolean[] = [];
  let startedAt: number | null = null;
  for (;;) {
    const seen = report();
    alive.push(seen.alive);
    const remaining = await left();
    if (startedAt === null && remaining < total) startedAt = job.clock.look(() => job.clock.now());
    // The run that took the last batch is over once a later one has finished too.
    if (remaining === 0 && seen.runs > runsBefore + 1) break;
    await nextTurn();
  }
  return { alive, lastedMs: job.clock.look(() => job.clock.now()) - startedAt! };
}

describe('the request-deadline sweep through a backlog, against a real Redis', () => {
  let job: JobUnderTest;
  let key: string;

  /**
   * `count` requests that are due and gone (expired before their deadline): the sweep only
   * takes each off the schedule, so a batch is quick in real time.
   */
  const backlog = async (count: number): Promise<void> => {
    const entries = Array.from({ length: count }, (_, index) => [index, newMessageId()]).flat();
    await job.redis.zadd(key, ...entries);
  };
  const left = (): Promise<number> => job.redis.zcard(key);

  beforeEach(async () => {
    // A batch of 200 reads the clock about 200 times (each envelope's expiry, the lease, the
    // progress report): some 20 s of its time.
    job = await startJob(ConversationsModule, 100);
    key = job.keys.requestDeadlines();
  });

  afterEach(async () => {
    await job.close();
  });

  it('stays alive through a run minutes long, as each batch reports progress', async () => {
    await backlog(10 * BATCH);
    const { alive, lastedMs } = await watchRun(job, 10 * BATCH, left);
    // The run lasted well past the stuck limit, and was never stuck.
    expect(lastedMs).toBeGreaterThan(2 * STUCK_MS);
    expect(alive.filter((up) => !up)).toEqual([]);
  });

  it('stops a run at its next batch when the instance stops, leaving the rest due', async () => {
    await backlog(50 * BATCH);
    while ((await left()) === 50 * BATCH) await nextTurn();
    // What shutdown does: JobRunner tells the run, and waits for it.
    await job.runner.onModuleDestroy();
    const remaining = await left();
    expect(remaining).toBeGreaterThan(0);
    // Whatever was claimed was also finished: only whole batches were taken.
    expect(remaining % BATCH).toBe(0);
  });
});

describe('the retry loop through a backlog, against a real Redis', () => {
  let job: JobUnderTest;

  beforeEach(async () => {
    // A batch of deliveries whose confirmations are gone reads the clock twice (the lease,
    // the progress report): 20 s of its time.
    job = await startJob(RetryModule, 10_000);
  });

  afterEach(async () => {
    await job.close();
  });

  it('stays alive through a run minutes long, as each batch reports progress', async () => {
    // Schedule entries whose confirmations are gone: each is only taken off the schedule.
    const key = job.keys.retrySchedule(MessagePriority.NORMAL);
    const entries = Array.from({ length: 10 * BATCH }, (_, index) => [
      index,
      `${newMessageId()}|m${index}`,
    ]).flat();
    await job.redis.zadd(key, ...entries);
    const { alive, lastedMs } = await watchRun(job, 10 * BATCH, () => job.redis.zcard(key));
    expect(lastedMs).toBeGreaterThan(2 * STUCK_MS);
    expect(alive.filter((up) => !up)).toEqual([]);
  });
});
