import type { TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { RetentionRepository } from '../../src/cleanup/retention.repository';
import { MailboxRepository } from '../../src/mailboxes/mailbox.repository';
import { threadKey } from '../../src/messages/thread-key';
import { RedisKeys } from '../../src/redis/redis-keys';
import { RedisServer } from '../utils/redis-server';
import { redisTestingModule } from '../utils/redis-context';

/** Ten entries m0..m9 scored 1000..1009, oldest first. */
const ENTRIES = Array.from({ length: 10 }, (_, i) => ({ id: `m${i}`, score: 1000 + i }));

describe('retention and deletion scripts against a real Redis', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let module: TestingModule;
  let retention: RetentionRepository;
  let mailboxes: MailboxRepository;
  let keys: RedisKeys;
  let mailboxCounter = 0;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    ({ module } = await redisTestingModule(redisServer.url, [
      RetentionRepository,
      MailboxRepository,
    ]));
    retention = module.get(RetentionRepository);
    mailboxes = module.get(MailboxRepository);
    keys = module.get(RedisKeys);
  });

  afterAll(async () => {
    await module.close();
    await redis.quit();
    await redisServer.destroy();
  });

  /** A mailbox registered at `createdAt` holding ENTRIES, m1 and m8 pending, m2 dead-lettered, m0 read. */
  async function filledMailbox(createdAt = 500): Promise<string> {
    mailboxCounter += 1;
    const name = `box${mailboxCounter}`;
    await mailboxes.register(name, null, 'digest', createdAt);
    await redis.zadd(
      keys.mailboxMessages(name),
      ...ENTRIES.flatMap(({ id, score }) => [score, id]),
    );
    await redis.zadd(keys.mailboxPending(name), 1001, 'm1', 1008, 'm8');
    await redis.zadd(keys.mailboxDeadLetterIndex(name), 5000, 'm2');
    await redis.hset(keys.mailboxDeadLetters(name), 'm2', '{}');
    await redis.zadd(keys.mailboxRead(name), 1000, 'm0');
    return name;
  }

  it('picks the oldest entries beyond the count or below the age, at most a batch, and writes nothing', async () => {
    const name = await filledMailbox();

    const firstTwo = await retention.toTrim(name, 7, null, 2);
    expect(firstTwo).toEqual({
      seenAt: 500,
      entries: ENTRIES.slice(0, 2),
      pending: ['m1'],
      deadLettered: [],
    });
    const overCount = await retention.toTrim(name, 7, null, 100);
    expect(overCount.entries.map((entry) => entry.id)).toEqual(['m0', 'm1', 'm2']);
    expect(overCount.deadLettered).toEqual(['m2']);
    // Whichever limit takes more wins.
    expect((await retention.toTrim(name, 0, 1005, 100)).entries).toHaveLength(5);
    expect((await retention.toTrim(name, 8, 1005, 100)).entries).toHaveLength(5);
    expect((await retention.toTrim(name, 3, 1005, 100)).entries).toHaveLength(7);
    expect((await retention.toTrim(name, 0, null, 100)).entries).toEqual([]);
    expect((await retention.toTrim(name, 10, 1000, 100)).entries).toEqual([]);

    expect(await redis.zcard(keys.mailboxMessages(name))).toBe(10);
    await mailboxes.recordSighting(name, 7777);
    expect((await retention.toTrim(name, 0, null, 1)).seenAt).toBe(7777);
    expect(await redis.zscore(keys.mailboxIndexSeen(), name)).toBe('7777');
  });

  it('takes entries out of the index, the pending list, the dead letters and the read marks, once', async () => {
    const name = await filledMailbox();

    expect(await retention.trim(name, ['m0', 'm1', 'm2'])).toBe(3);
    expect(await retention.trim(name, ['m0', 'm1', 'm2'])).toBe(0);

    expect(await redis.zrange(keys.mailboxMessages(name), '0', '0')).toEqual(['m3']);
    expect(await redis.zrange(keys.mailboxPending(name), '0', '-1')).toEqual(['m8']);
    expect(
      await redis.exists(keys.mailboxDeadLetters(name), keys.mailboxDeadLetterIndex(name)),
    ).toBe(0);
    expect(await redis.exists(keys.mailboxRead(name))).toBe(0);
  });

  it('reads message heads, deletes a hash with its expiry entry, and never lengthens a TTL', async () => {
    const name = await filledMailbox();
    await redis.zadd(keys.deadLetterIndex(), 1, `${name}|m2`, 2, `${name}|m3`);
    await retention.forgetDeadLetters(name, ['m2']);
    expect(await redis.zrange(keys.deadLetterIndex(), '0', '-1')).toEqual([`${name}|m3`]);

    const expiring = 'h1';
    await redis.hset(keys.message(expiring), {
      mode: 'DIRECT',
      target: name,
      createdAt: '1000',
      expiresAt: '9000000000000',
    });
    await redis.hset(keys.message('h2'), {
      mode: 'BROADCAST',
      createdAt: '1000',
      threadId: 't1',
      replyBy: '2000',
    });
    await redis.zadd(keys.expirySchedule(), 9000000000000, `${expiring}|DIRECT|${name}`);
    const [direct, broadcast, gone] = await retention.heads([expiring, 'h2', 'h3']);
    // A message stored without a thread is its own.
    expect(direct).toEqual({
      mode: 'DIRECT',
      target: name,
      createdAt: 1000,
      expiresAt: 9000000000000,
      threadId: expiring,
      replyBy: null,
    });
    expect(broadcast).toEqual({
      mode: 'BROADCAST',
      target: null,
      createdAt: 1000,
      expiresAt: null,
      threadId: 't1',
      replyBy: 2000,
    });
    expect(gone).toBeNull();

    // Its thread's index lets go of it too.
    await redis.zadd(keys.thread(threadKey(expiring)), 1000, expiring, 1001, 'h9');
    await retention.deleteMessage(expiring, direct!);
    expect(await redis.exists(keys.message(expiring))).toBe(0);
    expect(await redis.zcard(keys.expirySchedule())).toBe(0);
    expect(await redis.zrange(keys.thread(threadKey(expiring)), '0', '-1')).toEqual(['h9']);

    const later = Date.now() + 60_000;
    await retention.expireMessageAt('h2', broadcast!, later);
    await retention.expireMessageAt('h2', broadcast!, later + 60_000);
    expect(await redis.pexpiretime(keys.message('h2'))).toBe(later);
    // Scheduled for the cleanup of lapsed messages then, which takes it out of its thread.
    expect(await redis.zrange(keys.expirySchedule(), '0', '-1', 'WITHSCORES')).toEqual([
      `h2|BROADCAST||${threadKey('t1')}`,
      String(later),
    ]);
  });

  it('deletes every entry of a deleted mailbox, index first, then what is left in the other lists', async () => {
    const name = await filledMailbox();
    await redis.zrem(keys.mailboxMessages(name), 'm2');
    expect(await mailboxes.deleteMetadata(name, 600)).not.toBeNull();

    const first = await retention.toDelete(name, 600, 100);
    expect(first.seenAt).toBeNull();
    expect(first.entries.map((entry) => entry.id)).toEqual(
      ENTRIES.map((entry) => entry.id).filter((id) => id !== 'm2'),
    );
    await retention.trim(
      name,
      first.entries.map((entry) => entry.id),
    );
    // m2 left the index earlier but is still a dead letter.
    const rest = await retention.toDelete(name, 600, 100);
    expect(rest).toMatchObject({ entries: [{ id: 'm2', score: 5000 }], deadLettered: ['m2'] });
    await retention.trim(name, ['m2']);
    expect((await retention.toDelete(name, 600, 100)).entries).toEqual([]);
  });

  it('leaves a mailbox registered again after the deletion its own, newer entries', async () => {
    const name = await filledMailbox(500);
    expect(await mailboxes.deleteMetadata(name, 1004)).not.toBeNull();
    await mailboxes.register(name, null, 'digest', 1005);

    expect(await mailboxes.deleteMetadata(name, 1004)).toBeNull();
    expect(await mailboxes.find(name)).toMatchObject({ name, createdAt: 1005 });
    const batch = await retention.toDelete(name, 1004, 100);
    expect(batch.entries.map((entry) => entry.id)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('deletes the metadata and the rate-limit bucket, and forgets only the deletion it finished', async () => {
    const name = await filledMailbox();
    await redis.hset(keys.rateLimit(name), 'tokens', '5');
    await mailboxes.recordDeletion(name, 700);
    expect(await mailboxes.deletionPending(name)).toBe(true);

    expect(await mailboxes.deleteMetadata(name, 700)).not.toBeNull();
    expect(await redis.exists(keys.mailboxMetadata(name), keys.rateLimit(name))).toBe(0);
    expect(await mailboxes.deleteMetadata(name, 700)).toBeNull();

    await mailboxes.recordDeletion(name, 800);
    await mailboxes.finishDeletion(name, 700);
    expect(await mailboxes.deletionPending(name)).toBe(true);
    expect(await mailboxes.pendingDeletions(10)).toContainEqual({ name, at: 800 });
    await mailboxes.finishDeletion(name, 800);
    expect(await mailboxes.deletionPending(name)).toBe(false);
  });

  it('passes over active mailboxes last seen before the window, and counts unknown ones as seen', async () => {
    const [stale, fresh, unknown] = [
      await filledMailbox(),
      await filledMailbox(),
      await filledMailbox(),
    ];
    await mailboxes.markSeen(stale, 1_000);
    await mailboxes.markSeen(fresh, 1_000);
    await mailboxes.markSeen(fresh, 5_000);
    // Never moves back.
    await mailboxes.markSeen(fresh, 2_000);
    await redis.zrem(keys.mailboxIndexSeen(), unknown);

    const names = await mailboxes.activeNamesSeenSince(4_000);
    expect(names).toEqual(expect.arrayContaining([fresh, unknown]));
    expect(names).not.toContain(stale);

    await mailboxes.addMissingSightings([
      { name: unknown, at: 3_000 },
      { name: fresh, at: 1 },
    ]);
    expect(await mailboxes.activeNamesSeenSince(4_000)).not.toContain(unknown);
    expect(await redis.zscore(keys.mailboxIndexSeen(), fresh)).toBe('5000');
  });
});
