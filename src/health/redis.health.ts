import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import { RedisTopology } from '../redis/redis-topology.service';
import { MessageRouterService } from '../routing/message-router.service';
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
    private readonly router: MessageRouterService,
    private readonly topology: RedisTopology,
  ) {}

  /** Redis answers PING on the command connection; says the mode and the nodes serving. */
  async commands(): Promise<HealthIndicatorResult<'redis'>> {
    const indicator = this.indicators.check('redis');
    const topology = this.topology.describe();
    // Not connected: say so at once instead of queueing a PING behind the reconnect.
    if (this.redis.status !== 'ready')
      return indicator.down({ ...topology, connection: this.redis.status });
    return indicator
      .attempt(async () => {
        const reply = await this.redis.ping();
        if (reply !== 'PONG') throw new Error(`unexpected PING reply ${String(reply)}`);
        return topology;
      })
      .withTimeout(PING_TIMEOUT_MS);
  }

  /** The circuit breaker is closed; while open, sends queue locally and reads fail fast. */
  circuit(): HealthIndicatorResult<'circuit'> {
    const indicator = this.indicators.check('circuit');
    const data = { state: this.breaker.state, queuedLocally: this.router.queuedLocally };
    return this.breaker.closed ? indicator.up(data) : indicator.down(data);
  }

  /** The subscriber connection is up, so live feeds flow. */
  subscriber(): HealthIndicatorResult<'pubsub'> {
    const indicator = this.indicators.check('pubsub');
    const data = { channels: this.pubsub.channelCount };
    return this.pubsub.connected ? indicator.up(data) : indicator.down(data);
  }
}
