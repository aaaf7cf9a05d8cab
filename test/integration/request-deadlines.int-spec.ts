import type { TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { RequestDeadlineRepository } from '../../src/conversations/request-deadline.repository';
import { newMessageId } from '../../src/messages/message-id';
import { RedisKeys } from '../../src/redis/redis-keys';
import { RedisServer } from '../utils/redis-server';
import { redisTestingModule } from '../utils/redis-context';

describe('request deadline scripts against a real Redis', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let module: TestingModule;
  let deadlines: RequestDeadlineRepository;
  let keys: RedisKeys;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    ({ module } = await redisTestingModule(redisServer.url, [RequestDeadlineRepository]));
    deadlines = module.get(RequestDeadlineRepository);
    keys = module.get(RedisKeys);
  });

  beforeEach(async () => {
    await redis.flushdb();
  });

  afterAll(async () => {
    await module.close();
    await redis.quit();
    await redisServer.destroy();
  });

  it('claims due requests earliest first, each for one claimant until its lease ends', async () => {
    const [early, late, future] = [newMessageId(), newMessageId(), newMessageId()];
    await redis.zadd(keys.requestDeadlines(), 1_000, late, 500, early, 5_000, future);

    expect(await deadlines.claimDue(2_000, 32_000, 10)).toEqual([early, late]);
    // Claimed: nobody else takes them while the lease runs, however often they ask.
    expect(await deadlines.claimDue(2_001, 32_001, 10)).toEqual([]);
    expect(await redis.zscore(keys.requestDeadlines(), early)).toBe('32000');
    // The claimant died: at the lease's end they are due again, for the next claimant, after
    // the request whose own deadline came first.
    expect(await deadlines.claimDue(32_000, 62_000, 10)).toEqual([future, early, late]);
  });

  it('claims no more than asked, leaving the rest due', async () => {
    const ids = Array.from({ length: 5 }, () => newMessageId());
    await redis.zadd(keys.requestDeadlines(), ...ids.flatMap((id, i) => [i, id]));
    expect(await deadlines.claimDue(10, 100, 2)).toEqual(ids.slice(0, 2));
    expect(await deadlines.claimDue(10, 100, 10)).toEqual(ids.slice(2));
  });

  it('claims nothing after the request was answered, and removes what it is told', async () => {
    const [answered, handled] = [newMessageId(), newMessageId()];
    await redis.zadd(keys.requestDeadlines(), 1, answered, 2, handled);
    await redis.zrem(keys.requestDeadlines(), answered);
    expect(await deadlines.claimDue(10, 100, 10)).toEqual([handled]);
    await deadlines.remove(handled);
    expect(await redis.exists(keys.requestDeadlines())).toBe(0);
  });

  it('records the first handling time of a request once, and nothing for a request that is gone', async () => {
    const request = newMessageId();
    await redis.hset(keys.message(request), 'id', request, 'sender', 'asker', 'content', 'x');
    expect(await deadlines.stampTimeout(request, 1_234)).toBe(1_234);
    expect(await deadlines.stampTimeout(request, 9_999)).toBe(1_234);
    expect(await redis.hget(keys.message(request), 'timedOutAt')).toBe('1234');

    const gone = newMessageId();
    expect(await deadlines.stampTimeout(gone, 1_234)).toBeNull();
    expect(await redis.exists(keys.message(gone))).toBe(0);
  });
});
