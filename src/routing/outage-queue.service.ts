import {
  Injectable,
  Logger,
  type BeforeApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { AppError } from '../common/app-error';
import { Clock } from '../common/clock';
import { AppConfigService, type RedisConfig } from '../config/app-config.service';
import { DeliveryNoticeService } from '../delivery/delivery-notice.service';
import { StatisticsService } from '../metrics/statistics.service';
import { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import { RedisTopology } from '../redis/redis-topology.service';
import {
  classifyRedisFailure,
  redisFailure,
  refusesWrites,
  type ClassifyOptions,
  type RedisFailureKind,
} from '../redis/redis.errors';
import { OutageQueue, type QueuedSend } from './outage-queue';
import { HEARTBEAT_MS } from './outage-spool';
import {
  OutageQueueBytesError,
  OutageQueueClosedError,
  OutageQueueFullError,
} from './routing.errors';

const FLUSH_INTERVAL_MS = 250;
/** While Redis refuses every write, the head of the queue is tried again this often. */
const REFUSED_RETRY_MS = 1_000;

/**
 * What the drain does with a queued send whose write failed: `wait` keeps it at the head and
 * tries again later; `drop` removes it, tells its sender, and goes on with the next.
 *
 * - Redis failed transiently (see classifyRedisFailure): wait.
 * - Redis refuses every write (out of memory, read-only, persistence failing): wait. Every
 *   later send would fail the same way, and these were acknowledged: they stay spooled until
 *   Redis takes writes again, while new sends are refused (see `storeRefusal`).
 * - The send itself was refused: an AppError (its target went away meanwhile), or a Redis
 *   reply that concerns this write (WRONGTYPE, a script error, wrong arguments), or an error
 *   that is not Redis's at all (a bug): drop, so that one bad send never holds up the rest.
 */
export function drainVerdict(error: unknown, options: ClassifyOptions = {}): 'wait' | 'drop' {
  if (error instanceof AppError) return 'drop';
  const kind = classifyRedisFailure(error, options);
  if (kind === 'transient') return 'wait';
  if (kind === 'permanent' && refusesWrites(error)) return 'wait';
  return 'drop';
}

/**
 * Where queued sends go: the Redis (never its credentials) and the key prefix. Instances
 * sharing a spool directory take in each other's sends only when this is the same.
 */
export function storeOf(redis: RedisConfig): string {
  const url = new URL(redis.url);
  return JSON.stringify({
    url: `${url.hostname}:${url.port}${url.pathname}`,
    sentinels: redis.sentinels,
    master: redis.sentinelMaster,
    cluster: redis.clusterNodes,
    prefix: redis.keyPrefix,
  });
}

/** The router's side of the queue: how a queued send is stored, and undone when dropped. */
export interface QueuedSendStore {
  /** Routes the send into Redis; idempotent by message id. */
  store(entry: QueuedSend): Promise<void>;
  /**
   * Removes whatever a refused attempt wrote under the send's id (best effort). The drain
   * stores one send at a time, so what a failed script left half-done is this send's alone.
   */
  discard(entry: QueuedSend): Promise<void>;
}

/**
 * The local outage queue: sends accepted while Redis cannot take them, spooled to disk (see
 * OutageQueue), and moved into Redis in order once it can. Decides which Redis failures a
 * send may wait out here and which refuse it now, with the one classification of
 * classifyRedisFailure.
 */
@Injectable()
export class OutageQueueService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(OutageQueueService.name);
  private readonly queue: OutageQueue;
  private store: QueuedSendStore | null = null;
  private flushing: Promise<void> | null = null;
  private timers: NodeJS.Timeout[] = [];
  /** Set while the head waits on a Redis that refuses every write; cleared by a stored send. */
  private refusal: AppError | null = null;
  private retryAt = 0;
  /** Set at shutdown: the queue takes no more sends (see accept). */
  private closed = false;

  constructor(
    config: AppConfigService,
    private readonly breaker: RedisCircuitBreaker,
    private readonly notices: DeliveryNoticeService,
    private readonly statistics: StatisticsService,
    private readonly topology: RedisTopology,
    private readonly clock: Clock,
  ) {
    const { outageQueueSize, outageQueueBytes, spoolDir } = config.resilience;
    this.queue = new OutageQueue(
      outageQueueSize,
      spoolDir,
      storeOf(config.redis),
      outageQueueBytes,
    );
  }

  /** Sends accepted and not yet in Redis. */
  get size(): number {
    return this.queue.size;
  }

  get capacity(): number {
    return this.queue.capacity;
  }

  /**
   * Whether a new send must join the queue instead of going to Redis: while Redis cannot be
   * reached, and while earlier sends wait, so that sends are stored in the order accepted.
   */
  get mustQueue(): boolean {
    return !this.breaker.closed || this.queue.size > 0;
  }

  /** Whether Redis can be asked now (the breaker is closed), queued sends or not. */
  get reachable(): boolean {
    return this.breaker.closed;
  }

  /**
   * The refusal a new send gets while queued sends wait on a Redis that refuses every write
   * (STORE_FULL when it is out of memory); null otherwise.
   */
  get storeRefusal(): AppError | null {
    return this.breaker.closed ? this.refusal : null;
  }

  /** Whether a failed send may wait in the queue (`transient`) or is refused now; null: not Redis's. */
  classify(error: unknown): RedisFailureKind | null {
    return classifyRedisFailure(error, this.classifyOptions);
  }

  /** The router hands over how to store a queued send; draining starts with it. */
  attach(store: QueuedSendStore): void {
    this.store = store;
    void this.flush();
  }

  /** The send waiting in the queue with the sender's idempotency key, if one does. */
  queuedWith(sender: string, idempotencyKey: string): QueuedSend | undefined {
    return this.queue.withKey(sender, idempotencyKey);
  }

  /**
   * Accepts a send into the queue (synced to the spool first); throws when the queue is full,
   * and once the instance is shutting down: the queue's last flush has begun, and a send
   * accepted after it would be answered QUEUED and kept nowhere but in memory.
   */
  accept(entry: QueuedSend): void {
    if (this.closed) throw new OutageQueueClosedError();
    let full: 'sends' | 'bytes' | null;
    try {
      full = this.queue.add(entry);
    } catch (error) {
      this.logger.error(`the outage spool could not be written: ${(error as Error).message}`);
      throw new OutageQueueBytesError(this.queue.maxBytes, (error as Error).message);
    }
    if (full === 'sends') throw new OutageQueueFullError(this.queue.capacity);
    if (full === 'bytes') throw new OutageQueueBytesError(this.queue.maxBytes);
  }

  onModuleInit(): void {
    if (this.queue.size > 0)
      this.logger.log(`${this.queue.size} spooled sends will be stored once Redis answers`);
    this.breaker.onStateChange((state) => {
      if (state === 'closed') void this.flush();
    });
    const flush = setInterval(() => void this.flush(), FLUSH_INTERVAL_MS);
    const maintain = setInterval(() => this.maintain(), HEARTBEAT_MS);
    for (const timer of [flush, maintain]) timer.unref();
    this.timers = [flush, maintain];
  }

  /** At shutdown the queue goes to Redis if it can, else it stays in the spool. */
  async beforeApplicationShutdown(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.retryAt = 0;
    await this.flush();
    if (this.queue.size > 0) {
      if (this.queue.spooled)
        this.logger.warn(`${this.queue.size} sends stay spooled until the next start`);
      else
        this.logger.error(
          `${this.queue.size} acknowledged sends are lost: Redis is down and OUTAGE_SPOOL_DIR is off`,
        );
    }
    this.queue.close();
  }

  /** Moves the queue into Redis in order, by the rules of drainVerdict. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private get classifyOptions(): ClassifyOptions {
    return { failover: this.topology.mode !== 'standalone' };
  }

  private async drain(): Promise<void> {
    const store = this.store;
    if (!store || this.clock.now() < this.retryAt) return;
    for (let entry = this.queue.peek(); entry && this.breaker.closed; entry = this.queue.peek()) {
      try {
        await store.store(entry);
      } catch (error) {
        if (drainVerdict(error, this.classifyOptions) === 'wait') {
          this.waitOn(error);
          return;
        }
        await this.refuse(entry, error, store);
        continue;
      }
      if (this.refusal) this.logger.log('Redis takes writes again: storing the queued sends');
      this.refusal = null;
      this.queue.shift();
    }
  }

  private waitOn(error: unknown): void {
    if (!refusesWrites(error)) {
      this.refusal = null;
      return;
    }
    if (!this.refusal)
      this.logger.warn(
        `Redis refuses writes (${(error as Error).message}): ${this.queue.size} queued sends wait, new sends are refused`,
      );
    this.refusal = redisFailure(error);
    this.retryAt = this.clock.now() + REFUSED_RETRY_MS;
  }

  /** Acknowledged as QUEUED, refused now: dropped, and its sender is told. */
  private async refuse(entry: QueuedSend, error: unknown, store: QueuedSendStore): Promise<void> {
    const refusal = error instanceof AppError ? error : redisFailure(error);
    if (!refusal)
      this.logger.error(
        `queued send ${entry.message.id} failed unexpectedly and is dropped`,
        error instanceof Error ? error.stack : String(error),
      );
    this.statistics.increment('routingErrors');
    await store.discard(entry).catch(() => undefined);
    await this.notices
      .tell(entry.message.sender, {
        type: 'delivery.failed',
        messageId: entry.message.id,
        recipient: entry.message.target ?? '',
        reason: refusal?.message ?? 'internal error',
        attempts: 0,
      })
      .catch((failure: unknown) =>
        this.logger.warn(
          `delivery.failed notice for ${entry.message.id} not stored: ${(failure as Error).message}`,
        ),
      );
    this.queue.drop();
  }

  private maintain(): void {
    try {
      const adopted = this.queue.maintain();
      if (adopted === 0) return;
      this.logger.log(`took in ${adopted} spooled sends of an instance that is gone`);
      void this.flush();
    } catch (error) {
      this.logger.warn(`spool upkeep failed: ${(error as Error).message}`);
    }
  }
}
