import type { Redis } from 'ioredis';
import { CleanupRepository } from '../../src/cleanup/cleanup.repository';
import { RedisKeys } from '../../src/redis/redis-keys';
import { defineScripts, type ScriptedClient } from '../../src/redis/redis-scripts';
import { RedisServer } from '../utils/redis-server';
import type { TopicRepository } from '../../src/topics/topic.repository';
import { uniquePrefix } from '../utils/test-app';

const READS = new Set(['get']);
/** The lock takes no topic: the repository's purge, which forgets emptied topics, is not run. */
const NO_TOPICS = {} as TopicRepository;

/**
 * The holder's connection, with another instance taking the lock at the latest moment the
 * holder's release leaves open: right after the release's first read of the lock, or, when
 * it starts with a write or a script, just before that.
 */
function racedBy(holder: ScriptedClient, lockKey: string, takeOver: () => Promise<void>) {
  let raced = false;
  return new Proxy(holder, {
    get(target, property, receiver) {
      const member: unknown = Reflect.get(target, property, receiver);
      if (typeof member !== 'function') return member;
      return async (...args: unknown[]) => {
        const touchesLock = args.includes(lockKey) && !raced;
        if (touchesLock && !READS.has(String(property))) {
          raced = true;
          await takeOver();
        }
        const answer: unknown = await (member as (...a: unknown[]) => Promise<unknown>).apply(
          target,
          args,
        );
        if (touchesLock && READS.has(String(property))) {
          raced = true;
          await takeOver();
        }
        return answer;
      };
    },
  });
}

describe('the cleanup lock', () => {
  let redis: RedisServer;
  let holderClient: Redis;
  let otherClient: Redis;
  let keys: RedisKeys;

  beforeAll(async () => {
    redis = await RedisServer.start();
    holderClient = redis.client();
    otherClient = redis.client();
  });

  beforeEach(() => {
    keys = new RedisKeys(uniquePrefix());
  });

  afterAll(async () => {
    holderClient.disconnect();
    otherClient.disconnect();
    await redis.destroy();
  });

  it('is released by its holder, and only once', async () => {
    const cleanup = new CleanupRepository(defineScripts(holderClient), keys, NO_TOPICS);
    expect(await cleanup.lock('a', 10_000)).toBe(true);
    expect(await cleanup.lock('b', 10_000)).toBe(false);
    expect(await cleanup.unlock('a')).toBe(true);
    expect(await cleanup.unlock('a')).toBe(false);
    expect(await cleanup.lock('b', 10_000)).toBe(true);
  });

  it("is never released from under another instance that took it after the holder's lease lapsed", async () => {
    const lockKey = keys.cleanupLock();
    const scripts = defineScripts(holderClient);
    const other = new CleanupRepository(defineScripts(otherClient), keys, NO_TOPICS);
    expect(await new CleanupRepository(scripts, keys, NO_TOPICS).lock('holder', 10_000)).toBe(true);

    const releasing = new CleanupRepository(
      racedBy(scripts, lockKey, async () => {
        // The holder's lease lapses, and the other instance takes the lock.
        await otherClient.del(lockKey);
        expect(await other.lock('other', 10_000)).toBe(true);
      }),
      keys,
      NO_TOPICS,
    );
    await releasing.unlock('holder');

    expect(await otherClient.get(lockKey)).toBe('other');
  });
});
