import type { TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { monotonicFactory, ulid } from 'ulid';
import { MailboxRepository } from '../../src/mailboxes/mailbox.repository';
import { MessageRepository } from '../../src/messages/message.repository';
import { AddressingMode, MessagePriority } from '../../src/messages/message.model';
import {
  fromPushPayload,
  toPushPayload,
  type StoredMessage,
} from '../../src/messages/stored-message';
import { RedisKeys } from '../../src/redis/redis-keys';
import { RedisPubSubService } from '../../src/redis/redis-pubsub.service';
import { TopicRepository } from '../../src/topics/topic.repository';
import { eventually } from '../utils/graphql-client';
import { RedisServer } from '../utils/redis-server';
import { redisTestingModule } from '../utils/redis-context';

function message(id: string, overrides: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id,
    sender: 'bob',
    mode: AddressingMode.DIRECT,
    target: 'alice',
    content: `content of ${id}`,
    contentType: 'text/plain',
    subject: null,
    metadata: null,
    priority: MessagePriority.NORMAL,
    createdAt: Number.parseInt(String(Date.now()), 10),
    expiresAt: null,
    requireConfirmation: false,
    correlationId: null,
    replyTo: null,
    threadId: null,
    ...overrides,
  };
}

describe('message storage scripts against a real Redis', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let module: TestingModule;
  let messages: MessageRepository;
  let mailboxes: MailboxRepository;
  let topics: TopicRepository;
  let pubsub: RedisPubSubService;
  let keys: RedisKeys;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    ({ module } = await redisTestingModule(redisServer.url, [
      MessageRepository,
      MailboxRepository,
      TopicRepository,
    ]));
    messages = module.get(MessageRepository);
    mailboxes = module.get(MailboxRepository);
    topics = module.get(TopicRepository);
    pubsub = module.get(RedisPubSubService);
    keys = module.get(RedisKeys);
    await mailboxes.register('alice', null, 'digest', Date.now());
  });

  afterAll(async () => {
    await module.close();
    await redis.quit();
    await redisServer.destroy();
  });

  it('writes a message once: a second write of the same id changes nothing', async () => {
    const id = ulid();
    expect(await messages.store(message(id, { content: 'first' }))).toBe(true);
    expect(await messages.store(message(id, { content: 'second' }))).toBe(false);
    expect((await messages.find(id))?.content).toBe('first');
  });

  it('gives an expiring message a Redis TTL and never returns it once expired', async () => {
    const id = ulid();
    await messages.store(message(id, { expiresAt: Date.now() + 60_000 }));
    const ttl = await redis.pttl(keys.message(id));
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);

    const soon = ulid();
    await messages.store(message(soon, { expiresAt: Date.now() + 5_000 }));
    expect(await messages.find(soon, Date.now() + 10_000)).toBeNull();
  });

  it('enqueues into a mailbox and publishes once; a repeat neither adds nor publishes', async () => {
    const received: unknown[] = [];
    const unsubscribe = await pubsub.subscribe(mailboxes.feedChannel('alice'), (payload) =>
      received.push(payload),
    );
    const id = ulid();
    const first = await mailboxes.enqueue('alice', id, Date.now(), JSON.stringify({ id }), false);
    const again = await mailboxes.enqueue('alice', id, Date.now(), JSON.stringify({ id }), false);
    expect(first).toEqual({ kind: 'delivered', receivers: 1 });
    expect(again).toEqual({ kind: 'duplicate' });
    await eventually(() => received.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toEqual([{ id }]);
    expect(await redis.zscore(keys.mailboxMessages('alice'), id)).not.toBeNull();
    await unsubscribe();
  });

  it('refuses to enqueue into an unknown or deactivated mailbox, writing nothing', async () => {
    expect(await mailboxes.enqueue('nobody', ulid(), Date.now(), '{}', false)).toEqual({
      kind: 'missing',
    });
    expect(await redis.exists(keys.mailboxMessages('nobody'))).toBe(0);
    await mailboxes.register('closing', null, 'digest', Date.now());
    await mailboxes.deactivate('closing', Date.now());
    expect(await mailboxes.enqueue('closing', ulid(), Date.now(), '{}', false)).toEqual({
      kind: 'missing',
    });
    expect(await mailboxes.activeNames()).not.toContain('closing');
    expect(await mailboxes.allNames()).toContain('closing');
  });

  it('writes the one-step sends of one turn in a few script calls, each with its own outcome', async () => {
    await mailboxes.register('carol', null, 'digest', Date.now());
    await mailboxes.register('gone', null, 'digest', Date.now());
    await mailboxes.deactivate('gone', Date.now());
    const stored = message(ulid(), { target: 'gone' });
    await messages.store(stored);
    const received: unknown[] = [];
    const unsubscribe = await pubsub.subscribe(mailboxes.feedChannel('carol'), (payload) =>
      received.push(payload),
    );
    const next = monotonicFactory();
    const fresh = Array.from({ length: 150 }, (_, i) =>
      message(next(), {
        target: 'carol',
        content: `batch ${i}`,
        requireConfirmation: i % 2 === 0,
        expiresAt: i === 3 ? Date.now() + 60_000 : null,
      }),
    );
    const calls = async (): Promise<number> =>
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    // The script is loaded (the first EVALSHA of a new script gets NOSCRIPT, then an EVAL).
    await mailboxes.storeAndEnqueue('nobody', message(ulid(), { target: 'nobody' }));
    const before = await calls();
    const outcomes = await Promise.all([
      ...fresh.map((m) => mailboxes.storeAndEnqueue('carol', m)),
      mailboxes.storeAndEnqueue('carol', fresh[0]),
      mailboxes.storeAndEnqueue('nobody', message(ulid(), { target: 'nobody' })),
      mailboxes.storeAndEnqueue('gone', stored),
    ]);
    // 153 sends in one turn: four calls, of 39, 39, 39 and 36.
    expect((await calls()) - before).toBe(4);
    expect(outcomes.slice(0, 150)).toEqual(fresh.map(() => ({ kind: 'delivered', receivers: 1 })));
    expect(outcomes.slice(150)).toEqual([
      { kind: 'duplicate' },
      { kind: 'missing', alreadyStored: false },
      { kind: 'missing', alreadyStored: true },
    ]);
    await eventually(() => received.length === 150);
    // Each push is toPushPayload's form, built by the script: the message as stored, and
    // the attempt number for a tracked one.
    expect(received.map((payload) => fromPushPayload(payload))).toEqual(
      fresh.map((m) => (m.requireConfirmation ? { ...m, deliveryAttempt: 1 } : m)),
    );
    expect(await redis.zrange(keys.mailboxMessages('carol'), '0', '-1')).toEqual(
      fresh.map((m) => m.id),
    );
    expect(await redis.zcard(keys.mailboxPending('carol'))).toBe(75);
    expect(await messages.find(fresh[149].id)).toEqual(fresh[149]);
    const ttl = await redis.pttl(keys.message(fresh[3].id));
    expect(ttl).toBeGreaterThan(55_000);
    expect(await redis.pttl(keys.message(fresh[4].id))).toBe(-1);
    expect(await redis.exists(keys.mailboxMessages('nobody'), keys.mailboxMessages('gone'))).toBe(
      0,
    );
    await unsubscribe();
  });

  it('sends the script again when Redis has lost it (SCRIPT FLUSH, as after a restart)', async () => {
    await mailboxes.register('frank', null, 'digest', Date.now());
    const next = monotonicFactory(); // ids in send order, also within one millisecond
    const stat = async (command: string): Promise<number> =>
      Number(
        new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(await redis.info('commandstats'))?.[1] ??
          0,
      );
    const first = message(next(), { target: 'frank' });
    expect(await mailboxes.storeAndEnqueue('frank', first)).toEqual({
      kind: 'delivered',
      receivers: 0,
    });
    await redis.script('FLUSH');
    const [evalBefore, evalshaBefore] = [await stat('eval'), await stat('evalsha')];
    const second = message(next(), { target: 'frank' });
    expect(await mailboxes.storeAndEnqueue('frank', second)).toEqual({
      kind: 'delivered',
      receivers: 0,
    });
    // One EVALSHA answered NOSCRIPT, one EVAL ran the send and loaded the script again.
    expect(await stat('eval')).toBe(evalBefore + 1);
    const third = message(next(), { target: 'frank' });
    expect(await mailboxes.storeAndEnqueue('frank', third)).toEqual({
      kind: 'delivered',
      receivers: 0,
    });
    expect(await stat('eval')).toBe(evalBefore + 1);
    expect(await stat('evalsha')).toBe(evalshaBefore + 2);
    expect(await redis.zrange(keys.mailboxMessages('frank'), '0', '-1')).toEqual([
      first.id,
      second.id,
      third.id,
    ]);
    expect(await messages.find(second.id)).toEqual(second);
  });

  it('pushes what toPushPayload builds, whatever the text, and publishes nothing to an empty feed', async () => {
    await mailboxes.register('dave', null, 'digest', Date.now());
    const text = 'a/b "quoted" \\ back\nslash\u0001\u007f caf\u00e9 \u4e2d\u6587 \ud83d\ude00';
    const rich = message(ulid(), {
      target: 'dave',
      content: text,
      subject: 's/ub',
      metadata: { nested: { list: [1, 2.5, null, 'x'] }, big: 12345678901234 },
      correlationId: 'c-1',
      replyTo: 'bob',
      threadId: 't-1',
      expiresAt: Date.now() + 60_000,
      requireConfirmation: true,
      priority: MessagePriority.URGENT,
    });
    const publishes = async (): Promise<number> =>
      Number(/cmdstat_publish:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    const before = await publishes();
    const quiet = message(ulid(), { target: 'dave' });
    expect(await mailboxes.storeAndEnqueue('dave', quiet)).toEqual({
      kind: 'delivered',
      receivers: 0,
    });
    expect(await publishes()).toBe(before);

    const received: unknown[] = [];
    const unsubscribe = await pubsub.subscribe(mailboxes.feedChannel('dave'), (payload) =>
      received.push(payload),
    );
    expect(await mailboxes.storeAndEnqueue('dave', rich)).toEqual({
      kind: 'delivered',
      receivers: 1,
    });
    await eventually(() => received.length === 1);
    expect(received[0]).toEqual(JSON.parse(toPushPayload(rich, 1)));
    expect(fromPushPayload(received[0])).toEqual({ ...rich, deliveryAttempt: 1 });
    expect(await messages.find(rich.id)).toEqual(rich);
    await unsubscribe();
  });

  it('registers once, refuses a second registration while active, and reactivates after deactivation', async () => {
    expect(await mailboxes.register('twice', { a: 1 }, 'd1', 1000)).toBe(true);
    expect(await mailboxes.register('twice', null, 'd2', 2000)).toBe(false);
    expect(await mailboxes.deactivate('twice', 3000)).toBe(true);
    expect(await mailboxes.register('twice', null, 'd3', 4000)).toBe(true);
    const record = await mailboxes.find('twice');
    expect(record).toMatchObject({ name: 'twice', active: true, createdAt: 1000, metadata: null });
    expect(await redis.hget(keys.mailboxMetadata('twice'), 'tokenHash')).toBe('d3');
    expect(await mailboxes.deactivate('never-registered', 5000)).toBe(false);
  });

  it('pages ids in id order, exactly after the cursor, also within one millisecond', async () => {
    const index = keys.mailboxMessages('pages');
    const next = monotonicFactory();
    const sameMs = Date.now();
    const ids = Array.from({ length: 30 }, () => next(sameMs));
    // Inserted shuffled: order comes from the index, not from insertion.
    for (const id of [...ids].reverse()) await redis.zadd(index, sameMs, id);
    const first = await messages.pageIds(index, null, 10);
    expect(first).toEqual({ ids: ids.slice(0, 10), hasNextPage: true });
    const middle = await messages.pageIds(index, ids[9], 10);
    expect(middle.ids).toEqual(ids.slice(10, 20));
    const last = await messages.pageIds(index, ids[19], 10);
    expect(last).toEqual({ ids: ids.slice(20), hasNextPage: false });
    expect(await messages.pageIds(index, ids[29], 10)).toEqual({ ids: [], hasNextPage: false });
    expect((await messages.pageIds(index, '0', 100)).ids).toEqual(ids);
  });

  it('appends to a topic once and keeps its metadata', async () => {
    const id = ulid();
    expect(await topics.append('agents.planner.status', id, 1234, JSON.stringify({ id }))).toBe(0);
    expect(
      await topics.append('agents.planner.status', id, 1234, JSON.stringify({ id })),
    ).toBeNull();
    expect(await redis.hgetall(keys.topicMetadata('agents.planner.status'))).toMatchObject({
      name: 'agents.planner.status',
      messageCount: '1',
      createdAt: '1234',
    });
  });

  it('releases the Redis channel when the last local listener leaves', async () => {
    const channel = mailboxes.feedChannel('alice');
    const numsub = async (): Promise<number> =>
      Number(((await redis.call('PUBSUB', 'NUMSUB', channel)) as Array<string | number>)[1]);
    const offs = await Promise.all(
      Array.from({ length: 5 }, () => pubsub.subscribe(channel, () => undefined)),
    );
    expect(await numsub()).toBe(1);
    await Promise.all(offs.slice(0, 4).map((off) => off()));
    expect(await numsub()).toBe(1);
    await offs[4]();
    await eventually(async () => (await numsub()) === 0);
    expect(pubsub.listenerCount(channel)).toBe(0);
  });
});
