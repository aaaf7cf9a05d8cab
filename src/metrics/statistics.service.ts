import {
  Inject,
  Injectable,
  Logger,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';

/** The seed's router metrics, counted across every instance. */
export const COUNTERS = [
  'messagesRouted',
  'messagesDelivered',
  'messagesFailed',
  'messagesRetried',
  'routingErrors',
  'validationErrors',
  'tokensSent',
  'guardRefusals',
] as const;

export type Counter = (typeof COUNTERS)[number];

const FLUSH_INTERVAL_MS = 1_000;

/**
 * Counters kept in one Redis hash so that all instances add up. Increments gather in memory
 * and reach Redis once a second (and at shutdown) as one HINCRBY per changed counter, so the
 * hot path pays nothing per message; reads add what is not flushed yet.
 */
@Injectable()
export class StatisticsService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(StatisticsService.name);
  private unflushed = new Map<Counter, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly breaker: RedisCircuitBreaker,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  increment(counter: Counter, by = 1): void {
    if (by === 0) return;
    this.unflushed.set(counter, (this.unflushed.get(counter) ?? 0) + by);
  }

  /** Totals over all instances, this instance's unflushed counts included. */
  async read(): Promise<Record<Counter, number>> {
    const stored = await this.redis.hgetall(this.keys.statistics());
    const totals = {} as Record<Counter, number>;
    for (const counter of COUNTERS) {
      totals[counter] = Number(stored[counter] ?? 0) + (this.unflushed.get(counter) ?? 0);
    }
    return totals;
  }

  async flush(): Promise<void> {
    // Counts wait in memory while Redis is away (they are statistics, not messages).
    if (this.unflushed.size === 0 || !this.breaker.closed) return;
    const batch = this.unflushed;
    this.unflushed = new Map();
    try {
      // One transaction: either every count lands or none does, so a retry never double-counts.
      const transaction = this.redis.multi();
      for (const [counter, by] of batch) transaction.hincrby(this.keys.statistics(), counter, by);
      await transaction.exec();
    } catch (error) {
      // Keep the counts for the next flush rather than lose them.
      for (const [counter, by] of batch) this.increment(counter, by);
      this.logger.debug(`statistics not flushed: ${(error as Error).message}`);
    }
  }
}
