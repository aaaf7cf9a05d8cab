import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { AppConfigService } from '../config/app-config.service';
import { REDIS_COMMANDS } from './redis.constants';
import type { ScriptedClient } from './redis-scripts';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** Consecutive failed probes that open the circuit. */
const FAILURES_TO_OPEN = 2;
const STARTUP_WAIT_MS = 3_000;
/** A probe waits this long at most: a busy machine must not pass for a hung Redis. */
const MAX_PROBE_TIMEOUT_MS = 2_000;

/**
 * A circuit breaker around Redis, driven by the connection's state and by a PING probe:
 * the circuit opens at once when the command connection drops, or after two probes in a row
 * go unanswered (a Redis that is up but hung, such as after SIGSTOP). While it is open,
 * callers fail fast or queue locally instead of waiting on timeouts; after a cool-down the
 * circuit is half-open and the next probe closes it again, or reopens it.
 */
@Injectable()
export class RedisCircuitBreaker implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RedisCircuitBreaker.name);
  // Open until the first probe answers: nothing is sent before the connection is up.
  private current: BreakerState = 'open';
  private failures = 0;
  /** 0: the cool-down does not hold up the first probe. */
  private openedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private probing = false;
  private readonly listeners = new Set<(state: BreakerState) => void>();
  /** How many times the circuit opened since start (for metrics). */
  opened = 0;

  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly config: AppConfigService,
  ) {}

  get state(): BreakerState {
    return this.current;
  }

  /** Whether calls should go to Redis now. */
  get closed(): boolean {
    return this.current === 'closed';
  }

  onStateChange(listener: (state: BreakerState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onModuleInit(): void {
    this.redis.on('close', () => this.open('the connection closed'));
    this.redis.on('ready', () => void this.probe());
    const cooldown = this.config.resilience.breakerCooldownMs;
    this.timer = setInterval(() => void this.probe(), Math.min(500, cooldown));
    this.timer.unref();
    // The connection may be up already: its 'ready' came before this listener.
    void this.probe();
  }

  /**
   * Start waits briefly for Redis, so that a service whose Redis is there serves from its
   * first request; without Redis it starts anyway (liveness never depends on Redis).
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(finish, STARTUP_WAIT_MS);
      const stop = this.onStateChange((state) => {
        if (state === 'closed') finish();
      });
      function finish(): void {
        clearTimeout(timer);
        stop();
        resolve();
      }
    });
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async probe(): Promise<void> {
    if (this.probing) return;
    if (
      this.current === 'open' &&
      Date.now() - this.openedAt < this.config.resilience.breakerCooldownMs
    )
      return;
    if (this.redis.status !== 'ready') {
      this.open(`the connection is ${this.redis.status}`);
      return;
    }
    if (this.current === 'open') this.set('half-open');
    this.probing = true;
    try {
      await Promise.race([
        this.redis.ping(),
        new Promise((_, reject) =>
          setTimeout(
            () => reject(new Error('PING timed out')),
            Math.min(this.config.redis.commandTimeoutMs, MAX_PROBE_TIMEOUT_MS),
          ).unref(),
        ),
      ]);
      this.failures = 0;
      if (this.current !== 'closed') {
        this.logger.log('Redis answers again: circuit closed');
        this.set('closed');
      }
    } catch (error) {
      this.failures += 1;
      if (this.current === 'half-open' || this.failures >= FAILURES_TO_OPEN)
        this.open((error as Error).message);
    } finally {
      this.probing = false;
    }
  }

  private open(reason: string): void {
    this.openedAt = Date.now();
    if (this.current === 'open') return;
    this.opened += 1;
    this.logger.warn(`Redis unavailable (${reason}): circuit open`);
    this.set('open');
  }

  private set(state: BreakerState): void {
    this.current = state;
    for (const listener of this.listeners) listener(state);
  }
}
