import type { TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { InboxRepository } from '../../src/inbox/inbox.repository';
import { RedisKeys } from '../../src/redis/redis-keys';
import { RedisServer } from '../utils/redis-server';
import { redisTestingModule } from '../utils/redis-context';

describe('read-prefix.lua: where a mailbox stops being all read', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let module: TestingModule;
  let inbox: InboxRepository;
  let keys: RedisKeys;
  let counter = 0;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    ({ module } = await redisTestingModule(redisServer.url, [InboxRepository]));
    inbox = module.get(InboxRepository);
    keys = module.get(RedisKeys);
  });

  afterAll(async () => {
    await module.close();
    await redis.quit();
    await redisServer.destroy();
  });

  /** A mailbox of `count` messages m000.. (some of one millisecond), and the ones read. */
  async function mailbox(count: number, read: (index: number) => boolean): Promise<string> {
    counter += 1;
    const name = `box${counter}`;
    const ids = Array.from({ length: count }, (_, i) => `m${String(i).padStart(3, '0')}`);
    const score = (i: number) => 1000 + Math.floor(i / 3);
    if (count > 0) {
      await redis.zadd(keys.mailboxMessages(name), ...ids.flatMap((id, i) => [score(i), id]));
    }
    const marked = ids.flatMap((id, i) => (read(i) ? [score(i), id] : []));
    if (marked.length > 0) await redis.zadd(keys.mailboxRead(name), ...marked);
    return name;
  }

  it.each([
    ['none read', 10, () => false, null],
    ['the oldest unread, later ones read', 10, (i: number) => i > 0, null],
    ['a prefix read', 10, (i: number) => i < 4, 'm003'],
    ['a prefix, a gap, then more read', 10, (i: number) => i < 6 || i === 8, 'm005'],
    ['all read', 10, () => true, 'm009'],
    ['an empty mailbox', 0, () => false, null],
    ['a long prefix', 700, (i: number) => i < 613 || i % 2 === 0, 'm612'],
  ])('%s', async (_case, count, read, expected) => {
    expect(await inbox.readPrefixEnd(await mailbox(count, read))).toBe(expected);
  });
});
