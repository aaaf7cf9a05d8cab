import type { TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { AuthRepository } from '../../src/auth/auth.repository';
import { tokenDigest } from '../../src/auth/tokens';
import { RedisServer } from '../utils/redis-server';
import { redisTestingModule } from '../utils/redis-context';

/** How many times Redis ran EVALSHA since the last CONFIG RESETSTAT. */
async function evalshaCalls(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  return Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
}

describe('token checks and charges against a real Redis', () => {
  let redisServer: RedisServer;
  let module: TestingModule;
  let prefix: string;
  let repository: AuthRepository;
  let redis: Redis;
  const digest = tokenDigest('mbx_agent_secret');

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    ({ module, prefix } = await redisTestingModule(redisServer.url, [AuthRepository]));
    repository = module.get(AuthRepository);
    redis = redisServer.client();
  });

  beforeEach(async () => {
    await redis.flushdb();
    for (const name of ['agent', 'other']) {
      await redis.hset(`${prefix}mailbox:{${name}}:metadata`, 'tokenHash', digest);
    }
  });

  afterAll(async () => {
    await redis.quit();
    await module.close();
    await redisServer.destroy();
  });

  it("holds a token whose digest is the mailbox's, and no other, without touching a bucket", async () => {
    await expect(repository.holdsToken('agent', digest)).resolves.toBe(true);
    await expect(repository.holdsToken('agent', tokenDigest('mbx_agent_forged'))).resolves.toBe(
      false,
    );
    await expect(repository.holdsToken('nobody', digest)).resolves.toBe(false);
    expect(await redis.keys(`${prefix}ratelimit:*`)).toEqual([]);
  });

  it('refuses a token revoked a moment ago on its next check', async () => {
    await expect(repository.holdsToken('agent', digest)).resolves.toBe(true);
    await redis.hdel(`${prefix}mailbox:{agent}:metadata`, 'tokenHash');
    await expect(repository.holdsToken('agent', digest)).resolves.toBe(false);
  });

  it("answers a turn's checks and charges each its own, in one call", async () => {
    await redis.config('RESETSTAT');
    const [held, charged, forged] = await Promise.all([
      repository.holdsToken('agent', digest),
      repository.checkAndCharge('other', digest, 1),
      repository.holdsToken('other', tokenDigest('mbx_other_forged')),
    ]);
    expect({ held, charged, forged }).toEqual({ held: true, charged: 0, forged: false });
    expect(await evalshaCalls(redis)).toBe(1);
    // Only the charge keeps a bucket.
    expect(await redis.keys(`${prefix}ratelimit:*`)).toEqual([`${prefix}ratelimit:{other}`]);
  });

  it('answers the token checks of a turn while a full Redis refuses the charges beside them', async () => {
    await redis.config('SET', 'maxmemory', '1');
    try {
      const [held, charged] = await Promise.allSettled([
        repository.holdsToken('agent', digest),
        repository.checkAndCharge('other', digest, 1),
      ]);
      expect(held).toEqual({ status: 'fulfilled', value: true });
      expect(charged.status).toBe('rejected');
      expect(String((charged as PromiseRejectedResult).reason)).toMatch(/^.*OOM/);
    } finally {
      await redis.config('SET', 'maxmemory', '0');
    }
  });

  it('answers a check on a key of another type with Redis’ own error', async () => {
    await redis.del(`${prefix}mailbox:{agent}:metadata`);
    await redis.set(`${prefix}mailbox:{agent}:metadata`, 'not a hash');
    await expect(repository.holdsToken('agent', digest)).rejects.toThrow(/WRONGTYPE/);
  });
});
