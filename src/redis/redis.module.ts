import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AppConfigService } from '../config/app-config.service';
import { createRedisClient } from './redis-client.factory';
import { REDIS_COMMANDS, REDIS_SUBSCRIBER } from './redis.constants';
import { RedisKeys } from './redis-keys';
import { RedisAvailabilityGuard } from './redis-availability.guard';
import { RedisCircuitBreaker } from './redis-circuit-breaker';
import { RedisPubSubService } from './redis-pubsub.service';
import { RedisTopology } from './redis-topology.service';
import type { ScriptedClient } from './redis-scripts';

/**
 * The command connection, the subscriber connection, the key names and the channel
 * multiplexer. The only place that opens connections; both close on shutdown.
 */
@Global()
@Module({
  providers: [
    {
      provide: REDIS_COMMANDS,
      inject: [AppConfigService],
      useFactory: (config: AppConfigService) => createRedisClient(config.redis, 'commands'),
    },
    {
      provide: REDIS_SUBSCRIBER,
      inject: [AppConfigService],
      useFactory: (config: AppConfigService) => createRedisClient(config.redis, 'subscriber'),
    },
    {
      provide: RedisKeys,
      inject: [AppConfigService],
      useFactory: (config: AppConfigService) =>
        new RedisKeys(config.redis.keyPrefix, config.redis.database),
    },
    RedisTopology,
    RedisPubSubService,
    RedisCircuitBreaker,
    { provide: APP_GUARD, useClass: RedisAvailabilityGuard },
  ],
  exports: [
    REDIS_COMMANDS,
    REDIS_SUBSCRIBER,
    RedisKeys,
    RedisTopology,
    RedisPubSubService,
    RedisCircuitBreaker,
  ],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly commands: ScriptedClient,
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: ScriptedClient,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.allSettled(
      [this.subscriber, this.commands].map(async (client) => {
        if (client.status === 'end') return;
        // QUIT waits for a reply that a dead Redis never sends: give it a second.
        const quit = client.quit().catch(() => undefined);
        const timeout = new Promise((resolve) => setTimeout(resolve, 1_000).unref());
        await Promise.race([quit, timeout]);
        // After QUIT as well: only disconnect() closes the sentinel connections that watch
        // for a failover (and whatever else a connector holds).
        client.disconnect();
      }),
    );
  }
}
