import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import { RedisTopology } from '../redis/redis-topology.service';
import { refusesWrites } from '../redis/redis.errors';
import { OutageQueueService } from '../routing/outage-queue.service';
import type { ScriptedClient } from '../redis/redis-scripts';

/** Kubernetes' default probe timeout is 1 s: answer well within it. */
const PING_TIMEOUT_MS = 800;

@Injectable()
export class RedisHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly pubsub: RedisPubSubService,
    private readonly breaker: RedisCircuitBreaker,
    private readonly outage: OutageQueueService,
    private readonly topology: RedisTopology,
  ) {}

  /**
   * Redis answers PING on the command connection; says the mode, the nodes serving and
   * whether Redis takes writes. A Redis that refuses writes (out of memory, read-only) stays
   * up here: reads still work on every instance, and sends are refused with STORE_FULL or
   * SERVICE_UNAVAILABLE, which no other instance of the same Redis could do better, so
   * taking instances out of the load balancer would only take the reads down too.
   * `writable: false` and `refusal` say what is wrong.
   */
  async commands(): Promise<HealthIndicatorResult<'redis'>> {
    const indicator = this.indicators.check('redis');
    const topology = this.topology.describe();
    // Not connected: say so at once instead of queueing a PING behind the reconnect.
    if (this.redis.status !== 'ready')
      return indicator.down({ ...topology, connection: this.redis.status });
    return indicator
      .attempt(async () => {
        const [reply, refusal] = await Promise.all([this.redis.ping(), this.writeRefusal()]);
        if (reply !== 'PONG') throw new Error(`unexpected PING reply ${String(reply)}`);
        return refusal === null
          ? { ...topology, writable: true }
          : { ...topology, writable: false, refusal };
      })
      .withTimeout(PING_TIMEOUT_MS);
  }

  /** Redis's reply to a script that may write but writes nothing (write-probe.lua); null: writes go through. */
  private async writeRefusal(): Promise<string | null> {
    try {
      await this.redis.writeProbe();
      return null;
    } catch (error) {
      if (refusesWrites(error)) return (error as Error).message;
      throw error;
    }
  }

  /** The circuit breaker is closed; while open, sends queue locally and reads fail fast. */
  circuit(): HealthIndicatorResult<'circuit'> {
    const indicator = this.indicators.check('circuit');
    const data = { state: this.breaker.state, queuedLocally: this.outage.size };
    return this.breaker.closed ? indicator.up(data) : indicator.down(data);
  }

  /** The subscriber connection is up, so live feeds flow. */
  subscriber(): HealthIndicatorResult<'pubsub'> {
    const indicator = this.indicators.check('pubsub');
    const data = { channels: this.pubsub.channelCount };
    return this.pubsub.connected ? indicator.up(data) : indicator.down(data);
  }
}
