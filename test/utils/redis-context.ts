import { Test, type TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { REDIS_COMMANDS } from '../../src/redis/redis.constants';
import { ClockModule } from '../../src/common/clock.module';
import { AppConfigModule } from '../../src/config/app-config.module';
import { RedisModule } from '../../src/redis/redis.module';
import { uniquePrefix } from './test-app';

/**
 * A Nest testing module with the real Redis module (against `redisUrl`, under a fresh key
 * prefix) and the providers under test, for integration tests below the GraphQL layer.
 */
export async function redisTestingModule(
  redisUrl: string,
  providers: Array<new (...args: never[]) => unknown>,
): Promise<{ module: TestingModule; prefix: string }> {
  const prefix = uniquePrefix();
  const module = await Test.createTestingModule({
    imports: [
      AppConfigModule.forRoot({ NODE_ENV: 'test', REDIS_URL: redisUrl, REDIS_KEY_PREFIX: prefix }),
      RedisModule,
      ClockModule,
    ],
    providers,
  }).compile();
  await module.init();
  // The command connection queues nothing while it connects: wait until it is up.
  const commands = module.get<Redis>(REDIS_COMMANDS);
  if (commands.status !== 'ready') await new Promise((resolve) => commands.once('ready', resolve));
  return { module, prefix };
}
