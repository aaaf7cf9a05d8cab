import type { TestingModule } from '@nestjs/testing';
import type { Redis } from 'ioredis';
import { monotonicFactory, ulid } from 'ulid';
import { MailboxRepository } from '../../src/mailboxes/mailbox.repository';
import { ownBodyReads, previewBodyReads } from '../../src/messages/body-reads';
import { MessageRepository } from '../../src/messages/message.repository';
import { threadKey } from '../../src/messages/thread-key';
import { AddressingMode, MessagePriority } from '../../src/messages/message.model';
import { contentDigest } from '../../src/provenance/message-signature';
import {
  fromPushPayload,
  toPushPayload,
  type StoredMessage,
} from '../../src/messages/stored-message';
import { RedisKeys } from '../../src/redis/redis-keys';
import { RedisPubSubService } from '../../src/redis/redis-pubsub.service';
import {
  utcDay,
  type SendGuardRequest,
  type ThreadGuardRequest,
} from '../../src/safety/safety.repository';
import { MessageStore } from '../../src/store/message-store';
import { SendEvents } from '../../src/store/send-events';
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
    threadId: id,
    inReplyTo: null,
    replyBy: null,
    hop: 0,
    ...overrides,
  };
}

/** The sender guard's request for `sent`: no window, no duplicate guard, no budget, 7 tokens. */
function guardOf(sent: StoredMessage, overrides: Partial<SendGuardRequest> = {}): SendGuardRequest {
  return {
    sender: sent.sender,
    recipient: sent.target,
    messageId: sent.id,
    contentDigest: contentDigest(sent.content),
    digest: sent.id,
    now: Date.now(),
    pairLimitPerMinute: 0,
    duplicateWindowMs: 0,
    tokens: 7,
    defaultDailyBudget: 0,
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
  let store: MessageStore;
  const announced: object[] = [];

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    ({ module } = await redisTestingModule(redisServer.url, [
      MessageRepository,
      MailboxRepository,
      TopicRepository,
      MessageStore,
      SendEvents,
    ]));
    store = module.get(MessageStore);
    module.get(SendEvents).onEnqueued((event) => {
      const {
        kind,
        mailbox,
        message: { id },
      } = event;
      announced.push(
        event.kind === 'enqueued'
          ? { kind, mailbox, receivers: event.receivers, id }
          : { kind, mailbox, id },
      );
      return Promise.resolve();
    });
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
    expect(await store.deliver(message(id, { content: 'first' }), ['alice'])).toEqual({
      own: true,
      outcomes: [{ status: 'fulfilled', value: { kind: 'delivered', receivers: 0 } }],
    });
    expect(await store.deliver(message(id, { content: 'second' }), ['alice'])).toEqual({
      own: true,
      outcomes: [{ status: 'fulfilled', value: { kind: 'duplicate' } }],
    });
    expect((await messages.find(id))?.content).toBe('first');
  });

  it('gives an expiring message a Redis TTL, an expiry entry, and never returns it once expired', async () => {
    const id = ulid();
    await store.deliver(message(id, { expiresAt: Date.now() + 60_000 }), ['alice']);
    const ttl = await redis.pttl(keys.message(id));
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await redis.zscore(keys.expirySchedule(), `${id}|DIRECT|alice`)).not.toBeNull();

    const soon = ulid();
    await store.deliver(message(soon, { expiresAt: Date.now() + 5_000 }), ['alice']);
    expect(await messages.find(soon, Date.now() + 10_000)).toBeNull();
  });

  it('writes a tracked message with its confirmation entries; a retry adds only missing recipients', async () => {
    const id = ulid();
    const tracked = message(id, {
      mode: AddressingMode.BROADCAST,
      target: null,
      requireConfirmation: true,
      priority: MessagePriority.HIGH,
      expiresAt: Date.now() + 60_000,
    });
    expect((await store.deliver(tracked, ['alice', 'carol'])).own).toBe(true);
    const confirmation = await redis.hgetall(keys.deliveryConfirmation(id));
    expect(confirmation).toMatchObject({
      messageId: id,
      sender: 'bob',
      priority: 'HIGH',
      expiresAt: String(tracked.expiresAt),
      open: '2',
    });
    expect(JSON.parse(confirmation['r:alice'])).toEqual({ status: 'PENDING', n: 0, waiting: true });
    // An expiring broadcast keeps its recipients for cleanup, past the message's own expiry.
    expect((await redis.smembers(keys.messageRecipients(id))).sort()).toEqual(['alice', 'carol']);
    expect(await redis.pttl(keys.messageRecipients(id))).toBeGreaterThan(60_000);

    expect((await store.deliver(tracked, ['alice', 'carol', 'dave'])).own).toBe(false);
    const again = await redis.hgetall(keys.deliveryConfirmation(id));
    expect(again).toMatchObject({ createdAt: confirmation.createdAt, open: '3' });
    expect(JSON.parse(again['r:dave'])).toMatchObject({ status: 'PENDING' });

    await store.erase(tracked);
    expect(
      await redis.exists(
        keys.message(id),
        keys.deliveryConfirmation(id),
        keys.messageRecipients(id),
      ),
    ).toBe(0);
    expect(await redis.zscore(keys.expirySchedule(), `${id}|BROADCAST|`)).toBeNull();
  });

  it('writes the confirmation of a retried send whose message has expired meanwhile', async () => {
    // A resend under an idempotency key whose first message expired: its expiry has passed.
    const stale = message(ulid(), { requireConfirmation: true, expiresAt: Date.now() - 1_000 });
    for (const send of [stale, { ...stale, mode: AddressingMode.BROADCAST, target: null }]) {
      const { outcomes } = await store.deliver(send, ['alice']);
      expect(outcomes[0].status).toBe('fulfilled');
      expect(await redis.hget(keys.deliveryConfirmation(stale.id), 'sender')).toBe('bob');
      await redis.del(keys.deliveryConfirmation(stale.id));
    }
  });

  it('writes no confirmation for a plain message, and no recipient list for a DIRECT one', async () => {
    const id = ulid();
    await store.deliver(message(id, { expiresAt: Date.now() + 60_000 }), ['alice']);
    expect(await redis.exists(keys.deliveryConfirmation(id), keys.messageRecipients(id))).toBe(0);
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

  it('enqueues per mailbox with its own outcome, and announces what reached a mailbox', async () => {
    await mailboxes.register('carol', null, 'digest', Date.now());
    await mailboxes.register('gone', null, 'digest', Date.now());
    await mailboxes.deactivate('gone', Date.now());
    const received: unknown[] = [];
    const unsubscribe = await pubsub.subscribe(mailboxes.feedChannel('carol'), (payload) =>
      received.push(payload),
    );
    const broadcast = message(ulid(), {
      mode: AddressingMode.BROADCAST,
      target: null,
      requireConfirmation: true,
    });
    const names = ['carol', 'gone', 'alice'];
    announced.length = 0;

    const { outcomes: settled } = await store.deliver(broadcast, names);

    expect(settled).toEqual([
      { status: 'fulfilled', value: { kind: 'delivered', receivers: 1 } },
      { status: 'fulfilled', value: { kind: 'missing' } },
      { status: 'fulfilled', value: { kind: 'delivered', receivers: 0 } },
    ]);
    expect(announced).toEqual([
      { kind: 'enqueued', mailbox: 'carol', receivers: 1, id: broadcast.id },
      { kind: 'unreachable', mailbox: 'gone', id: broadcast.id },
      { kind: 'enqueued', mailbox: 'alice', receivers: 0, id: broadcast.id },
    ]);
    await eventually(() => received.length === 1);
    // The push is toPushPayload's form: the message as stored, and a tracked one's attempt.
    expect(fromPushPayload(received[0])).toEqual({ ...broadcast, deliveryAttempt: 1 });
    expect(await redis.zscore(keys.mailboxPending('carol'), broadcast.id)).not.toBeNull();

    // Again: already in every mailbox, so nothing is pushed or announced twice.
    announced.length = 0;
    expect(
      (await store.deliver(broadcast, ['carol'])).outcomes.map((entry) => entry.status),
    ).toEqual(['fulfilled']);
    expect(announced).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(received).toHaveLength(1);
    await unsubscribe();
  });

  it('writes the DIRECT sends of one turn in a few script calls, each with its own outcome', async () => {
    await mailboxes.register('erin', null, 'digest', Date.now());
    await mailboxes.register('gone', null, 'digest', Date.now());
    await mailboxes.deactivate('gone', Date.now());
    const storedBefore = message(ulid(), { target: 'gone', mode: AddressingMode.BROADCAST });
    await store.deliver(storedBefore, ['gone']);
    const received: unknown[] = [];
    const unsubscribe = await pubsub.subscribe(mailboxes.feedChannel('erin'), (payload) =>
      received.push(payload),
    );
    const next = monotonicFactory();
    const fresh = Array.from({ length: 150 }, (_, i) =>
      message(next(), {
        target: 'erin',
        content: `batch ${i}`,
        requireConfirmation: i % 2 === 0,
        expiresAt: i === 3 ? Date.now() + 60_000 : null,
      }),
    );
    const calls = async (): Promise<number> =>
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    await store.deliver(message(ulid(), { target: 'nobody' }), ['nobody']); // loads the script
    const before = await calls();
    const sent = await Promise.all([
      ...fresh.map((m) => store.deliver(m, ['erin'])),
      store.deliver(fresh[0], ['erin']),
      store.deliver(message(ulid(), { target: 'nobody' }), ['nobody']),
      store.deliver({ ...storedBefore, mode: AddressingMode.DIRECT }, ['gone']),
    ]);
    // 153 sends in one turn: four calls, of 39, 39, 39 and 36.
    expect((await calls()) - before).toBe(4);
    const outcomes = sent.map(({ own, outcomes: [settled] }) => ({
      own,
      value: settled.status === 'fulfilled' ? settled.value : (settled.reason as Error),
    }));
    expect(outcomes.slice(0, 150)).toEqual(
      fresh.map(() => ({ own: true, value: { kind: 'delivered', receivers: 1 } })),
    );
    expect(outcomes.slice(150)).toEqual([
      { own: true, value: { kind: 'duplicate' } },
      { own: true, value: { kind: 'missing' } },
      { own: false, value: { kind: 'missing' } },
    ]);
    await eventually(() => received.length === 150);
    // Each push is toPushPayload's form, built by the script: the message as stored, and the
    // attempt number for a tracked one.
    expect(received.map((payload) => fromPushPayload(payload))).toEqual(
      fresh.map((m) => (m.requireConfirmation ? { ...m, deliveryAttempt: 1 } : m)),
    );
    expect(await redis.zcard(keys.mailboxPending('erin'))).toBe(75);
    // A tracked one has its confirmation, written by the same call.
    expect(
      JSON.parse((await redis.hget(keys.deliveryConfirmation(fresh[0].id), 'r:erin'))!),
    ).toEqual({ status: 'PENDING', n: 0, waiting: true });
    expect(await redis.exists(keys.deliveryConfirmation(fresh[1].id))).toBe(0);
    expect(await redis.pttl(keys.message(fresh[3].id))).toBeGreaterThan(55_000);
    expect(await redis.zscore(keys.expirySchedule(), `${fresh[3].id}|DIRECT|erin`)).not.toBeNull();
    expect(await redis.exists(keys.mailboxMessages('nobody'), keys.mailboxMessages('gone'))).toBe(
      0,
    );
    await unsubscribe();
  });

  it("passes a turn's DIRECT sends through their sender's guard and stores them in one call", async () => {
    await mailboxes.register('hana', null, 'digest', Date.now());
    await mailboxes.register('ivy', null, 'digest', Date.now());
    await redis.hset(keys.mailboxMetadata('ivy'), 'acceptFrom', JSON.stringify(['carol']));
    await redis.hset(keys.mailboxMetadata('pat'), 'paused', '1');
    const now = Date.now();
    const guard = (sent: StoredMessage, digest = sent.id): SendGuardRequest =>
      guardOf(sent, { digest, now, duplicateWindowMs: 60_000 });
    const next = monotonicFactory();
    const admitted = message(next(), { target: 'hana' });
    const paused = message(next(), { sender: 'pat', target: 'hana', expiresAt: now + 60_000 });
    const policy = message(next(), { target: 'ivy' });
    const missing = message(next(), { target: 'nobody' });
    const duplicate = message(next(), { target: 'hana' });
    const calls = async (): Promise<number> =>
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    // Loads the script.
    await store.deliverGuarded(
      message(next(), { target: 'nobody' }),
      { ...guard(message(next())), sender: 'warm' },
      null,
    );
    const before = await calls();
    const answers = await Promise.all([
      store.deliverGuarded(admitted, guard(admitted, 'same body'), null),
      store.deliverGuarded(paused, guard(paused), null),
      store.deliverGuarded(policy, guard(policy), null),
      store.deliverGuarded(missing, guard(missing), null),
      store.deliverGuarded(duplicate, guard(duplicate, 'same body'), null),
    ]);
    expect((await calls()) - before).toBe(1);
    expect(answers).toEqual([
      {
        kind: 'admitted',
        delivered: {
          own: true,
          outcomes: [{ status: 'fulfilled', value: { kind: 'delivered', receivers: 0 } }],
        },
      },
      { kind: 'refused', guard: [2, 0] },
      { kind: 'policy' },
      {
        kind: 'admitted',
        delivered: { own: true, outcomes: [{ status: 'fulfilled', value: { kind: 'missing' } }] },
      },
      { kind: 'refused', guard: [4, admitted.id] },
    ]);
    expect(await messages.find(admitted.id)).toEqual(admitted);
    expect(await redis.zrange(keys.mailboxMessages('hana'), '0', '-1')).toEqual([admitted.id]);
    // A refused send and one left to the two-call path wrote nothing, and counted nothing.
    for (const left of [paused, policy, duplicate]) {
      expect(await redis.exists(keys.message(left.id))).toBe(0);
    }
    expect(await redis.zscore(keys.expirySchedule(), `${paused.id}|DIRECT|hana`)).toBeNull();
    expect(await redis.exists(keys.mailboxMessages('ivy'))).toBe(0);
    expect(await redis.exists(keys.mailboxTokens('pat', utcDay(now)))).toBe(0);
    // The sender's guard counted the send it admitted; the one to a missing mailbox passed no
    // guard, so its sender may send the same body again once the mailbox exists.
    expect(await redis.hgetall(keys.mailboxTokens('bob', utcDay(now)))).toEqual({
      total: '7',
      messages: '1',
      'to:hana': '7',
    });
    expect(await redis.exists(keys.mailboxDuplicate('bob', missing.id))).toBe(0);
    // Kept for the day and the next, from the day's first send.
    const kept = await redis.pttl(keys.mailboxTokens('bob', utcDay(now)));
    expect(kept).toBeGreaterThan(2 * 86_400_000 - 60_000);
    expect(kept).toBeLessThanOrEqual(2 * 86_400_000);
  });

  it("refuses the send of a turn that crosses its sender's budget, counting the ones before", async () => {
    await mailboxes.register('jade', null, 'digest', Date.now());
    const now = Date.now();
    const tokensKey = keys.mailboxTokens('kim', utcDay(now));
    // Spent before this turn: the budget is checked against it and this turn's own sends.
    await redis.hset(tokensKey, 'total', '3');
    const next = monotonicFactory();
    const sends = [0, 1, 2, 3].map(() => message(next(), { sender: 'kim', target: 'jade' }));
    const calls = async (): Promise<number> =>
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    const before = await calls();
    const answers = await Promise.all(
      sends.map((sent, index) =>
        store.deliverGuarded(
          sent,
          // The third (3 + 7 + 7 + 8 = 25) crosses 20; the fourth (3 + 7 + 7 + 3) fits again.
          guardOf(sent, { now, tokens: [7, 7, 8, 3][index], defaultDailyBudget: 20 }),
          null,
        ),
      ),
    );
    expect((await calls()) - before).toBe(1);
    expect(answers.map((answer) => answer.kind)).toEqual([
      'admitted',
      'admitted',
      'refused',
      'admitted',
    ]);
    expect(answers[2]).toEqual({ kind: 'refused', guard: [5, 20] });
    expect(await redis.zrange(keys.mailboxMessages('jade'), '0', '-1')).toEqual(
      [sends[0], sends[1], sends[3]].map((sent) => sent.id),
    );
    expect(await redis.hgetall(tokensKey)).toEqual({
      total: '20',
      messages: '3',
      'to:jade': '17',
    });
  });

  it("runs a reply's thread guard in the call, in turn with the turn's other sends", async () => {
    await mailboxes.register('lena', null, 'digest', Date.now());
    const now = Date.now();
    const next = monotonicFactory();
    const [open, paused] = [next(), next()];
    await redis.hset(keys.threadGuard(threadKey(paused)), 'paused', '1');
    const reply = (threadId: string): StoredMessage =>
      message(next(), { sender: 'mo', target: 'lena', threadId, inReplyTo: threadId, hop: 1 });
    const fresh = message(next(), { sender: 'mo', target: 'lena' });
    const first = reply(open);
    const again = reply(open);
    const held = reply(paused);
    // A paused sender in a paused thread: the sender's refusal, as in two calls.
    await redis.hset(keys.mailboxMetadata('pia'), 'paused', '1');
    const both = { ...reply(paused), sender: 'pia' };
    const last = message(next(), { sender: 'mo', target: 'lena' });
    // One reply may reach lena in a thread: the second is refused by the count the first
    // made earlier in the same call.
    const thread = (sent: StoredMessage): ThreadGuardRequest => ({
      threadId: sent.threadId,
      recipient: 'lena',
      maxVisits: 1,
      tokens: 5,
      reset: false,
    });
    const calls = async (): Promise<number> =>
      Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);
    const before = await calls();
    const answers = await Promise.all(
      [fresh, first, again, held, both, last].map((sent) =>
        store.deliverGuarded(
          sent,
          guardOf(sent, { now, tokens: 5 }),
          sent.threadId === sent.id ? null : thread(sent),
        ),
      ),
    );
    expect((await calls()) - before).toBe(1);
    expect(answers.map((answer) => answer.kind)).toEqual([
      'admitted',
      'admitted',
      'thread-refused',
      'thread-refused',
      'refused',
      'admitted',
    ]);
    expect(answers[2]).toEqual({ kind: 'thread-refused', guard: [3, 1] });
    expect(answers[3]).toEqual({ kind: 'thread-refused', guard: [2, 0] });
    expect(answers[4]).toEqual({ kind: 'refused', guard: [2, 0] });
    expect(await redis.zrange(keys.mailboxMessages('lena'), '0', '-1')).toEqual(
      [fresh, first, last].map((sent) => sent.id),
    );
    // The admitted reply is in its thread's index, beside the message it answers, and counted.
    expect(await redis.zrange(keys.thread(threadKey(open)), '0', '-1')).toEqual([open, first.id]);
    expect(await redis.hgetall(keys.threadGuard(threadKey(open)))).toEqual({
      spent: '5',
      messages: '1',
      'v:lena': '1',
    });
    expect(await redis.pttl(keys.threadGuard(threadKey(open)))).toBeGreaterThan(0);
    // The refused ones wrote nothing, and the sender's guard did not count them.
    for (const left of [again, held, both]) {
      expect(await redis.exists(keys.message(left.id))).toBe(0);
    }
    expect(await redis.exists(keys.thread(threadKey(paused)))).toBe(0);
    expect(await redis.hgetall(keys.threadGuard(threadKey(paused)))).toEqual({ paused: '1' });
    expect(await redis.hgetall(keys.mailboxTokens('mo', utcDay(now)))).toEqual({
      total: '15',
      messages: '3',
      'to:lena': '15',
    });
    expect(await redis.exists(keys.mailboxTokens('pia', utcDay(now)))).toBe(0);
    // A thread's guard without a thread (or a reply without one) is a caller's mistake.
    const lone = message(next(), { sender: 'mo', target: 'lena' });
    await expect(store.deliverGuarded(lone, guardOf(lone), thread(first))).rejects.toThrow(
      /thread guard/,
    );
    await expect(store.deliverGuarded(first, guardOf(first), null)).rejects.toThrow(/thread guard/);
  });

  it('writes again after Redis has lost its scripts (SCRIPT FLUSH, as after a restart)', async () => {
    await mailboxes.register('frank', null, 'digest', Date.now());
    const first = message(ulid(), { target: 'frank' });
    await store.deliver(first, ['frank']);
    await redis.script('FLUSH');
    const second = message(ulid(), { target: 'frank' });
    expect(await store.deliver(second, ['frank'])).toEqual({
      own: true,
      outcomes: [{ status: 'fulfilled', value: { kind: 'delivered', receivers: 0 } }],
    });
    const third = message(ulid(), { target: 'frank', mode: AddressingMode.BROADCAST });
    await redis.script('FLUSH');
    expect((await store.deliver(third, ['frank'])).outcomes).toEqual([
      { status: 'fulfilled', value: { kind: 'delivered', receivers: 0 } },
    ]);
    expect(await messages.find(third.id)).toEqual(third);
    expect(await messages.find(second.id)).toEqual(second);
  });

  it('pushes what toPushPayload builds, whatever the text', async () => {
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
    const received: unknown[] = [];
    const unsubscribe = await pubsub.subscribe(mailboxes.feedChannel('dave'), (payload) =>
      received.push(payload),
    );
    // DIRECT on a standalone Redis: both steps in one script, which builds the push itself.
    await store.deliver(rich, ['dave']);
    await eventually(() => received.length === 1);
    expect(received[0]).toEqual(JSON.parse(toPushPayload(rich, 1)));
    expect(fromPushPayload(received[0])).toEqual({ ...rich, deliveryAttempt: 1 });
    expect(await messages.find(rich.id)).toEqual(rich);
    await unsubscribe();
  });

  it('registers once, refuses a second registration while active, and reactivates after deactivation', async () => {
    expect(await mailboxes.register('twice', { a: 1 }, 'd1', 1000)).toEqual({
      registered: true,
      replacedDigest: null,
    });
    expect(await mailboxes.register('twice', null, 'd2', 2000)).toEqual({
      registered: false,
      replacedDigest: null,
    });
    expect(await mailboxes.deactivate('twice', 3000)).toBe(true);
    // The token it had is named, for the service to revoke.
    expect(await mailboxes.register('twice', null, 'd3', 4000)).toEqual({
      registered: true,
      replacedDigest: 'd1',
    });
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

  it('reads previews: each content cut at a character edge, and counted as cut', async () => {
    const bodies = {
      // 'a' and 200 four-byte characters: byte 641 falls inside the 160th character.
      astral: 'a' + '\u{1F600}'.repeat(200),
      twoByte: '\u00E9'.repeat(400),
      exact: 'b'.repeat(640),
      short: 'short',
    };
    const ids = Object.keys(bodies).map(() => ulid());
    const entries = Object.values(bodies);
    for (const [index, id] of ids.entries()) {
      await store.deliver(message(id, { content: entries[index], metadata: { late: true } }), [
        'alice',
      ]);
    }
    const gone = ulid();
    const read = await messages.findPreviews([...ids, gone], 640);
    expect(read.map((found) => [found.content, found.contentCut])).toEqual([
      // Backed off over the cut character's three leading bytes: no broken character.
      ['a' + '\u{1F600}'.repeat(159), true],
      ['\u00E9'.repeat(320), true],
      ['b'.repeat(640), undefined],
      ['short', undefined],
    ]);
    // The rest of the message is whole.
    expect(read[0]).toMatchObject({ id: ids[0], sender: 'bob', metadata: { late: true } });

    // Through a budget: it counts whole bodies (Redis reads them to cut them), and answers
    // each content's start only.
    const large = ulid();
    await store.deliver(message(large, { content: 'x'.repeat(100_000) }), ['alice']);
    const within = await messages.findWithin([large, ...ids], ownBodyReads(102_000, 640));
    expect(within.taken).toBe(3);
    expect(within.messages.map((found) => found.content.length)).toEqual([640, 319, 320]);
    expect(within.messages[0].contentCut).toBe(true);
    // A listing's budget counts a content at a share of its bytes, the metadata whole: 6,250
    // for the large body, then 801 / 16 + 13 for the next.
    expect(
      (await messages.findWithin([large, ...ids], previewBodyReads(7_000, 640, 16))).taken,
    ).toBe(5);
    expect(
      (await messages.findWithin([large, ...ids], previewBodyReads(6_300, 640, 16))).taken,
    ).toBe(1);
    // With 0 bytes no content is read, nor counted: the metadata alone (13 bytes each).
    const none = await messages.findWithin([large, ...ids], ownBodyReads(30, 0));
    expect(none.taken).toBe(3);
    expect(none.messages.map((found) => [found.content, found.contentCut])).toEqual([
      ['', true],
      ['', true],
      ['', true],
    ]);
    expect(none.messages[1]).toMatchObject({ id: ids[0], metadata: { late: true } });
    const whole = await messages.findWithin([large, ...ids], ownBodyReads(102_000));
    expect(whole.taken).toBe(3);
    expect(whole.messages[0]).toMatchObject({ content: 'x'.repeat(100_000) });
    expect(whole.messages[0].contentCut).toBeUndefined();
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
