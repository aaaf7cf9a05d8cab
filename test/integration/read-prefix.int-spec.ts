import type { TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { InboxRepository } from '../../src/inbox/inbox.repository';
import { messageIdGenerator, messageIdTime } from '../../src/messages/message-id';
import { REDIS_COMMANDS } from '../../src/redis/redis.constants';
import { RedisKeys } from '../../src/redis/redis-keys';
import type { ScriptedClient } from '../../src/redis/redis-scripts';
import { RedisServer } from '../utils/redis-server';
import { redisTestingModule } from '../utils/redis-context';

describe('read marks: read-prefix.lua and mark-read.lua', () => {
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

  describe('read-prefix.lua: where a mailbox stops being all read', () => {
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

  describe('markRead up to an id (mark-read.lua), in slices of 2,000', () => {
    /** A mailbox of `count` messages, three to a millisecond, scored by their ids' times. */
    async function ulidMailbox(count: number): Promise<{ name: string; ids: string[] }> {
      counter += 1;
      const name = `reader${counter}`;
      const next = messageIdGenerator();
      const start = Date.UTC(2026, 11, 7);
      const ids = Array.from({ length: count }, (_, i) => next(start + Math.floor(i / 3)));
      await redis.zadd(keys.mailboxMessages(name), ...ids.flatMap((id) => [messageIdTime(id), id]));
      return { name, ids };
    }

    async function readIds(name: string): Promise<string[]> {
      return redis.zrange(keys.mailboxRead(name), '0', '-1');
    }

    it('marks every message up to the id over several slices, the id itself too, and none after', async () => {
      const { name, ids } = await ulidMailbox(4_500);
      expect(await inbox.markUpTo(name, ids[4_100])).toBe(4_101);
      expect(await readIds(name)).toEqual(ids.slice(0, 4_101));
      // Again: nothing more to mark.
      expect(await inbox.markUpTo(name, ids[4_100])).toBe(0);
    });

    it('marks every message left up to the id when cleanup removes older ones between two slices', async () => {
      const { name, ids } = await ulidMailbox(4_500);
      const scripts = module.get<ScriptedClient>(REDIS_COMMANDS);
      const markRead = scripts.markRead.bind(scripts);
      let calls = 0;
      const spy = jest.spyOn(scripts, 'markRead').mockImplementation(async (...args) => {
        const answer = await markRead(...args);
        calls += 1;
        // After the first slice: the 1,500 oldest go, as the expiry purge removes them.
        if (calls === 1) {
          const gone = ids.slice(0, 1_500);
          await redis.zrem(keys.mailboxMessages(name), ...gone);
          await redis.zrem(keys.mailboxRead(name), ...gone);
        }
        return answer;
      });
      try {
        await inbox.markUpTo(name, ids[4_100]);
      } finally {
        spy.mockRestore();
      }
      expect(calls).toBeGreaterThan(1);
      expect(await readIds(name)).toEqual(ids.slice(1_500, 4_101));
    });
  });
});
