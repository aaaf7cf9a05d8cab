import type { TestingModule } from '@nestjs/testing';
import { ulid } from 'ulid';
import { DeliveryConfirmationRepository } from '../../src/delivery/delivery-confirmation.repository';
import { MailboxRepository } from '../../src/mailboxes/mailbox.repository';
import { MessagePriority } from '../../src/messages/message.model';
import { MessageStore } from '../../src/store/message-store';
import { SendEvents } from '../../src/store/send-events';
import { trackedBroadcast } from '../factories/messages';
import { RedisServer } from '../utils/redis-server';
import { redisTestingModule } from '../utils/redis-context';

describe('retry schedule and confirmation scripts against a real Redis', () => {
  let redisServer: RedisServer;
  let module: TestingModule;
  let repository: DeliveryConfirmationRepository;
  let store: MessageStore;

  /** A tracked BROADCAST to mailboxes that do not exist: its confirmation is PENDING for each. */
  async function tracked(
    id: string,
    priority: MessagePriority,
    recipients: string[],
    now: number,
    expiresAt: number | null = null,
  ): Promise<void> {
    await store.deliver(trackedBroadcast(id, now, { priority, expiresAt }), recipients);
  }

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    ({ module } = await redisTestingModule(redisServer.url, [
      DeliveryConfirmationRepository,
      MessageStore,
      MailboxRepository,
      SendEvents,
    ]));
    repository = module.get(DeliveryConfirmationRepository);
    store = module.get(MessageStore);
  });

  beforeEach(async () => {
    // The server is this file's own: each test starts from an empty schedule.
    const redis = redisServer.client();
    await redis.flushdb();
    await redis.quit();
  });

  afterAll(async () => {
    await module.close();
    await redisServer.destroy();
  });

  it('claims due deliveries most urgent first, and each only once until its lease runs out', async () => {
    const now = 1_000_000;
    await repository.schedule('low-old', 'm', MessagePriority.LOW, now - 5_000);
    await repository.schedule('normal', 'm', MessagePriority.NORMAL, now - 100);
    await repository.schedule('urgent-new', 'm', MessagePriority.URGENT, now - 1);
    await repository.schedule('high', 'm', MessagePriority.HIGH, now - 50);
    await repository.schedule('not-yet', 'm', MessagePriority.URGENT, now + 1_000);

    const claimed = await repository.claimDue(now, now + 30_000, 10);
    expect(claimed.map((due) => due.messageId)).toEqual([
      'urgent-new',
      'high',
      'normal',
      'low-old',
    ]);
    expect(claimed[0]).toEqual({
      messageId: 'urgent-new',
      mailbox: 'm',
      priority: MessagePriority.URGENT,
    });

    expect(await repository.claimDue(now + 1, now + 30_000, 10)).toEqual([]);
    // A claimer that died: its lease ends and the entries are due again for someone else.
    const reclaimed = await repository.claimDue(now + 30_000, now + 60_000, 10);
    expect(reclaimed.map((due) => due.messageId)).toEqual([
      'not-yet',
      'urgent-new',
      'high',
      'normal',
      'low-old',
    ]);
  });

  it('respects the claim limit across priorities', async () => {
    const now = 5_000_000;
    for (let i = 0; i < 3; i += 1)
      await repository.schedule(`u${i}`, 'x', MessagePriority.URGENT, now - 10);
    for (let i = 0; i < 3; i += 1)
      await repository.schedule(`l${i}`, 'x', MessagePriority.LOW, now - 10);
    const first = await repository.claimDue(now, now + 1_000, 4);
    expect(first.map((due) => due.messageId)).toEqual(['u0', 'u1', 'u2', 'l0']);
  });

  it('never pushes a sooner decision back to a later expiry, and sets one where there is none', async () => {
    const now = 9_000_000;
    // A subscriber's first attempt scheduled its retry; the expiry decision comes after.
    await repository.schedule('soon', 'x', MessagePriority.NORMAL, now + 1_000);
    await repository.scheduleByLatest('soon', 'x', MessagePriority.NORMAL, now + 60_000);
    await repository.scheduleByLatest('alone', 'x', MessagePriority.NORMAL, now + 60_000);
    const due = await repository.claimDue(now + 1_000, now + 100_000, 10);
    expect(due.map((entry) => entry.messageId)).toEqual(['soon']);
    const later = await repository.claimDue(now + 60_000, now + 61_000, 10);
    expect(later.map((entry) => entry.messageId)).toEqual(['alone']);
  });

  it('lets only one of two concurrent claimers record the same attempt', async () => {
    const id = ulid();
    await tracked(id, MessagePriority.NORMAL, ['r1'], Date.now());
    const waits = [1_000, 2_000, 4_000];
    const [x, y] = await Promise.all([
      repository.attempt(id, 'r1', 'first', 0, waits, 10),
      repository.attempt(id, 'r1', 'first', 0, waits, 10),
    ]);
    expect([x, y].filter((claim) => claim !== null)).toEqual([
      { attempt: 1, nextAt: 1_010, redrivenAt: 0 },
    ]);
    const [r2, r3] = await Promise.all([
      repository.attempt(id, 'r1', 'retry', 1, waits, 2_000),
      repository.attempt(id, 'r1', 'retry', 1, waits, 2_000),
    ]);
    expect([r2, r3].filter((claim) => claim !== null)).toEqual([
      { attempt: 2, nextAt: 4_000, redrivenAt: 0 },
    ]);
    expect(await repository.attempt(id, 'r1', 'retry', 2, waits, 5_000)).toEqual({
      attempt: 3,
      nextAt: 9_000,
      redrivenAt: 0,
    });
    // Past the table the last wait repeats.
    expect(await repository.attempt(id, 'r1', 'retry', 3, waits, 10_000)).toEqual({
      attempt: 4,
      nextAt: 14_000,
      redrivenAt: 0,
    });
  });

  it('confirms idempotently, keeps the latency of the last push, and expires the record once all are finished', async () => {
    const id = ulid();
    await tracked(id, MessagePriority.HIGH, ['a', 'b'], 0);
    await repository.attempt(id, 'a', 'first', 0, [1_000], 100);
    const first = await repository.update(id, 'a', 'deliver', 60_000, 350);
    expect(first?.changed).toBe(true);
    expect(first?.state).toMatchObject({
      status: 'DELIVERED',
      deliveredAt: 350,
      log: [{ n: 1, at: 100, latencyMs: 250 }],
    });
    const again = await repository.update(id, 'a', 'deliver', 60_000, 999);
    expect(again).toEqual({ changed: false, state: first?.state, sender: null });
    expect(await repository.update(id, 'nobody', 'deliver', 60_000, 999)).toBeNull();

    const redis = redisServer.client();
    const key = (await redis.keys(`*delivery_confirmation:{${id}}`))[0];
    expect(await redis.pttl(key)).toBe(-1);
    await repository.update(id, 'b', 'expire', 60_000, 1_000, null, 'gone');
    const ttl = await redis.pttl(key);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    await redis.quit();
  });

  it('answers EXPIRED to a confirmation past the message expiry, and keeps a later one DELIVERED', async () => {
    const id = ulid();
    await tracked(id, MessagePriority.NORMAL, ['late', 'timely'], 0, 1_000);
    await repository.attempt(id, 'timely', 'first', 0, [5_000], 100);
    const timely = await repository.confirm(id, 'timely', 60_000, 999);
    expect(timely?.state.status).toBe('DELIVERED');

    await repository.attempt(id, 'late', 'first', 0, [5_000], 100);
    const late = await repository.confirm(id, 'late', 60_000, 1_000);
    expect(late).toMatchObject({
      changed: true,
      state: { status: 'EXPIRED', reason: 'the message expired before it was confirmed' },
    });
    expect((await repository.confirm(id, 'timely', 60_000, 2_000))?.state.status).toBe('DELIVERED');
  });

  it('redrives a dead letter whose finished confirmation is gone, at a revision above the one it had', async () => {
    const id = ulid();
    await tracked(id, MessagePriority.HIGH, ['bob'], 0);
    await repository.attempt(id, 'bob', 'first', 0, [1_000], 100);
    const before = (await repository.findFor(id, 'bob'))?.recipients.get('bob');
    const record = {
      messageId: id,
      mailbox: 'bob',
      reason: 'not confirmed',
      attempts: 1,
      deadLetteredAt: 2_000,
    };
    // Kept 0 ms once finished: the confirmation goes with the failure, the dead letter stays.
    expect(await repository.failAndDeadLetter(record, MessagePriority.HIGH, 0)).toBe(true);
    expect(await repository.findFor(id, 'bob')).toBeNull();
    expect(await repository.findDeadLetter('bob', id)).not.toBeNull();

    const message = {
      id,
      sender: 'sender',
      priority: MessagePriority.HIGH,
      expiresAt: null,
      createdAt: 0,
    };
    const redriven = await repository.redrive(message, 'bob', 0, 3_000);
    expect(redriven).toMatchObject({
      changed: true,
      state: { status: 'PENDING', n: 0, waiting: true, redrivenAt: 3_000 },
    });
    expect(redriven?.state.v).toBeGreaterThan(before?.v ?? 0);
    expect(await repository.findDeadLetter('bob', id)).toBeNull();
    const found = await repository.findFor(id, 'bob');
    expect(found).toMatchObject({ messageId: id, sender: 'sender', priority: 'HIGH' });
    expect(found?.recipients.get('bob')?.status).toBe('PENDING');

    // A message past its expiry gets no confirmation again: nothing would remove it.
    const lapsed = ulid();
    await tracked(lapsed, MessagePriority.HIGH, ['bob'], 0, 2_500);
    await repository.attempt(lapsed, 'bob', 'first', 0, [1_000], 100);
    await repository.failAndDeadLetter({ ...record, messageId: lapsed }, MessagePriority.HIGH, 0);
    expect(
      await repository.redrive({ ...message, id: lapsed, expiresAt: 2_500 }, 'bob', 0, 3_000),
    ).toBeNull();
    expect(await repository.findFor(lapsed, 'bob')).toBeNull();

    // Open again: kept until it finishes, then for keepFinishedMs.
    const redis = redisServer.client();
    const key = (await redis.keys(`*delivery_confirmation:{${id}}`))[0];
    expect(await redis.pttl(key)).toBe(-1);
    await redis.quit();
  });

  it("tells the sender's watchers a final state even when the confirmation is kept 0 ms", async () => {
    const id = ulid();
    await tracked(id, MessagePriority.NORMAL, ['bob'], 0);
    await repository.attempt(id, 'bob', 'first', 0, [1_000], 100);
    const listener = redisServer.client();
    const heard: string[] = [];
    listener.on('message', (_channel: string, payload: string) => heard.push(payload));
    await listener.subscribe(repository.senderChannel('sender'));

    expect((await repository.confirm(id, 'bob', 0, 200))?.state.status).toBe('DELIVERED');
    const deadline = Date.now() + 5_000;
    while (heard.length === 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 20));
    const told = heard.map(
      (payload) =>
        JSON.parse(payload) as { messageId: string; mailbox: string; state: { status: string } },
    );
    expect(told.map(({ messageId, mailbox, state }) => [messageId, mailbox, state.status])).toEqual(
      [[id, 'bob', 'DELIVERED']],
    );
    await listener.quit();
  });
});
