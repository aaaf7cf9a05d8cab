import { ManualClock } from '../common/clock';
import type { AppConfigService } from '../config/app-config.service';
import type { MailboxRepository } from '../mailboxes/mailbox.repository';
import { AddressingMode, MessagePriority } from '../messages/message.model';
import { messageIdTime } from '../messages/message-id';
import type { MessageRepository } from '../messages/message.repository';
import type { StoredMessage } from '../messages/stored-message';
import type { Counter, StatisticsService } from '../metrics/statistics.service';
import { SendEvents } from '../store/send-events';
import { DeliveryStatus } from './delivery-confirmation.model';
import type { DeliveryConfirmationRepository } from './delivery-confirmation.repository';
import type { DeliveryNoticeService } from './delivery-notice.service';
import { DeliveryNotFoundError } from './delivery.errors';
import { DeliveryService } from './delivery.service';
import { strict } from '../../test/utils/strict';

const NOW = 1_700_000_000_000;
const KEEP_MS = 3_600_000;
const ID = '01JTESTMESSAGE000000000000';

function message(overrides: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id: ID,
    sender: 'alice',
    mode: AddressingMode.BROADCAST,
    target: null,
    content: 'hello',
    contentType: 'text/plain',
    subject: null,
    metadata: null,
    priority: MessagePriority.HIGH,
    createdAt: NOW - 1_000,
    expiresAt: NOW + 60_000,
    requireConfirmation: true,
    correlationId: null,
    replyTo: null,
    threadId: ID,
    inReplyTo: null,
    replyBy: null,
    hop: 0,
    ...overrides,
  };
}

const config = strict<AppConfigService>({
  retry: {
    maxRetries: 2,
    baseDelaySeconds: 1,
    maxDelaySeconds: 10,
    exponentialBase: 2,
    jitter: false,
    checkIntervalMs: 1_000,
  },
  cleanup: { intervalMs: 60_000, confirmationTtlSeconds: KEEP_MS / 1000 },
  resilience: {
    retryLeaseMs: 30_000,
    outageQueueSize: 0,
    outageQueueBytes: 0,
    spoolDir: null,
    breakerCooldownMs: 1_000,
    shutdownGraceMs: 1_000,
    shutdownDrainDelayMs: 0,
  },
});

function service(
  confirmations: Partial<DeliveryConfirmationRepository>,
  counted: Counter[] = [],
  notices: Partial<DeliveryNoticeService> = {},
  repositories: {
    messages?: Partial<MessageRepository>;
    mailboxes?: Partial<MailboxRepository>;
  } = {},
): { delivery: DeliveryService; events: SendEvents } {
  const events = new SendEvents();
  const statistics = strict<StatisticsService>({
    increment: (counter: Counter) => void counted.push(counter),
  });
  const delivery = new DeliveryService(
    config,
    strict<DeliveryConfirmationRepository>(confirmations),
    strict<MessageRepository>({
      sizes: (ids: string[]) => Promise.resolve(ids.map(() => 0)),
      ...repositories.messages,
    }),
    strict<MailboxRepository>(repositories.mailboxes ?? {}),
    strict<DeliveryNoticeService>(notices),
    statistics,
    events,
    new ManualClock(NOW),
  );
  delivery.onModuleInit();
  return { delivery, events };
}

describe(DeliveryService.name, () => {
  describe('handleDeadLetters', () => {
    it('handles an id named twice once, and counts it once', async () => {
      const purgeDeadLetter = jest.fn().mockResolvedValue(true);
      const { delivery } = service({ purgeDeadLetter });
      expect(await delivery.handleDeadLetters('purge', 'bob', [ID, ID])).toBe(1);
      expect(purgeDeadLetter).toHaveBeenCalledTimes(1);
    });
  });

  describe('processDue', () => {
    it('stops between batches once the instance is stopping, and reports progress after each', async () => {
      let claims = 0;
      // Each claim yields to timers, as a Redis call does: a loop that never stops fails the
      // test by its timeout instead of holding the process.
      const claimDue = jest.fn(async () => {
        claims += 1;
        await new Promise((resolve) => setImmediate(resolve));
        return Array.from({ length: 200 }, (_, index) => ({
          messageId: ID,
          mailbox: `m${index}`,
          priority: MessagePriority.NORMAL,
        }));
      });
      const findFor = jest.fn(() => Promise.resolve(null));
      const unschedule = jest.fn(() => Promise.resolve());
      const { delivery } = service({ claimDue, findFor, unschedule });
      const progressAt: number[] = [];
      expect(
        await delivery.processDue(
          NOW,
          () => claims >= 3,
          () => progressAt.push(claims),
        ),
      ).toBe(600);
      // After each batch: the job runner's sign that a long run is not a stuck one.
      expect(progressAt).toEqual([1, 2, 3]);
      expect(claimDue).toHaveBeenCalledTimes(3);
      expect(claimDue).toHaveBeenLastCalledWith(NOW, NOW + 30_000, 200);
    });
  });

  describe('processDue, bodies', () => {
    const MiB = 1024 * 1024;

    /** The most decisions of one batch under way at once, for messages of `sizes` bytes. */
    async function mostAtOnce(sizes: number[]): Promise<number> {
      const claimDue = jest
        .fn()
        .mockResolvedValueOnce(
          sizes.map((_size, index) => ({
            messageId: `${ID.slice(0, -1)}${index}`,
            mailbox: 'bob',
            priority: MessagePriority.NORMAL,
          })),
        )
        .mockResolvedValue([]);
      let running = 0;
      let most = 0;
      const findFor = jest.fn(async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((resolve) => setImmediate(resolve));
        running -= 1;
        return null;
      });
      const { delivery } = service(
        { claimDue, findFor, unschedule: () => Promise.resolve() },
        [],
        {},
        { messages: { sizes: () => Promise.resolve(sizes) } },
      );
      expect(await delivery.processDue(NOW)).toBe(sizes.length);
      expect(findFor).toHaveBeenCalledTimes(sizes.length);
      return most;
    }

    it('decides small messages all at once, and large ones no more than 64 MiB of them at a time', async () => {
      expect(await mostAtOnce(Array.from({ length: 200 }, () => 1024))).toBe(200);
      // Each a little over a third of the budget: two at a time.
      expect(await mostAtOnce(Array.from({ length: 6 }, () => 22 * MiB))).toBe(2);
      // One over the budget alone still goes, one at a time.
      expect(await mostAtOnce([100 * MiB, 100 * MiB, 1024])).toBe(1);
    });
  });

  describe('a delivery whose send could not put its message in the mailbox', () => {
    const waiting = { status: DeliveryStatus.PENDING, n: 0, waiting: true };
    const due = () =>
      jest
        .fn()
        .mockResolvedValueOnce([{ messageId: ID, mailbox: 'bob', priority: MessagePriority.HIGH }])
        .mockResolvedValue([]);
    const confirmations = () => ({
      claimDue: due(),
      findFor: () =>
        Promise.resolve({
          messageId: ID,
          sender: 'alice',
          priority: MessagePriority.HIGH,
          expiresAt: null,
          recipients: new Map([['bob', waiting]]),
        }),
      abandon: jest.fn(() => Promise.resolve()),
      scheduleByLatest: jest.fn(() => Promise.resolve()),
    });

    it('is put there by the retry loop, and told as the send tells what it enqueued', async () => {
      const enqueue = jest.fn(() => Promise.resolve({ kind: 'delivered' as const, receivers: 0 }));
      const stubs = confirmations();
      const { delivery, events } = service(
        stubs,
        [],
        {},
        {
          messages: { find: () => Promise.resolve(message({ expiresAt: null })) },
          mailboxes: {
            holds: () => Promise.resolve(false),
            registeredAt: () => Promise.resolve(0),
            enqueue,
          },
        },
      );
      const told: string[] = [];
      events.onEnqueued((event) =>
        Promise.resolve(void told.push(`${event.kind} ${event.mailbox}`)),
      );
      await delivery.processDue(NOW);
      expect(enqueue).toHaveBeenCalledWith('bob', ID, NOW - 1_000, expect.any(String), true);
      expect(told).toEqual(['enqueued bob']);
      expect(stubs.abandon).not.toHaveBeenCalled();
    });

    it('is abandoned, never put in a mailbox registered again under the name since', async () => {
      const enqueue = jest.fn();
      const stubs = confirmations();
      const { delivery } = service(
        stubs,
        [],
        {},
        {
          messages: { find: () => Promise.resolve(message({ expiresAt: null })) },
          mailboxes: {
            holds: () => Promise.resolve(false),
            registeredAt: () => Promise.resolve(messageIdTime(ID) + 60_000),
            enqueue,
          },
        },
      );
      await delivery.processDue(NOW);
      expect(enqueue).not.toHaveBeenCalled();
      expect(stubs.abandon).toHaveBeenCalledWith(
        ID,
        'bob',
        MessagePriority.HIGH,
        expect.any(String),
        KEEP_MS,
        NOW,
      );
    });
  });

  describe('on what the store step announces', () => {
    it("abandons a tracked delivery whose mailbox was gone, at the clock's time", async () => {
      const abandon = jest.fn(() => Promise.resolve());
      const { events } = service({ abandon });
      await events.enqueued({ message: message(), mailbox: 'bob', kind: 'unreachable' });
      expect(abandon).toHaveBeenCalledWith(
        ID,
        'bob',
        MessagePriority.HIGH,
        'the recipient mailbox is not active',
        KEEP_MS,
        NOW,
      );
    });

    it('claims the first attempt of a tracked delivery that reached a subscriber', async () => {
      const attempt = jest.fn(() =>
        Promise.resolve({ attempt: 1, nextAt: NOW + 1_000, redrivenAt: 0 }),
      );
      const schedule = jest.fn(() => Promise.resolve());
      const { events } = service({ attempt, schedule });
      await events.enqueued({ message: message(), mailbox: 'bob', kind: 'enqueued', receivers: 1 });
      expect(attempt).toHaveBeenCalledWith(ID, 'bob', 'first', 0, [1_000, 2_000, 4_000], NOW);
      expect(schedule).toHaveBeenCalledWith(ID, 'bob', MessagePriority.HIGH, NOW + 1_000);
    });

    it('schedules only the expiry of a tracked delivery nobody was subscribed for', async () => {
      // Unless a decision is due sooner: one a subscriber's first attempt scheduled meanwhile.
      const scheduleByLatest = jest.fn(() => Promise.resolve());
      const { events } = service({ scheduleByLatest });
      await events.enqueued({ message: message(), mailbox: 'bob', kind: 'enqueued', receivers: 0 });
      expect(scheduleByLatest).toHaveBeenCalledWith(ID, 'bob', MessagePriority.HIGH, NOW + 60_000);
    });

    it('leaves untracked messages alone', async () => {
      // No repository member is stubbed: any call would reject the announcement.
      const { events } = service({});
      const untracked = message({ requireConfirmation: false });
      await expect(
        events.enqueued({ message: untracked, mailbox: 'bob', kind: 'enqueued', receivers: 1 }),
      ).resolves.toBeUndefined();
      await expect(
        events.enqueued({ message: untracked, mailbox: 'bob', kind: 'unreachable' }),
      ).resolves.toBeUndefined();
    });
  });

  describe('confirm', () => {
    const delivered = { status: DeliveryStatus.DELIVERED, n: 1, waiting: false, deliveredAt: NOW };

    it('counts a delivery once, when this call confirmed it', async () => {
      const counted: Counter[] = [];
      const confirm = jest
        .fn()
        .mockResolvedValueOnce({ changed: true, state: delivered })
        .mockResolvedValueOnce({ changed: false, state: delivered });
      const { delivery } = service({ confirm }, counted);
      const first = await delivery.confirm('bob', ID);
      await delivery.confirm('bob', ID);
      expect(confirm).toHaveBeenCalledWith(ID, 'bob', KEEP_MS, NOW);
      expect(first).toMatchObject({ status: DeliveryStatus.DELIVERED, deliveredAt: new Date(NOW) });
      expect(counted).toEqual(['messagesDelivered']);
    });

    it('tells the sender of a delivery that a confirmation past the expiry turned EXPIRED, and counts no delivery', async () => {
      const counted: Counter[] = [];
      const reason = 'the message expired before it was confirmed';
      const expired = { status: DeliveryStatus.EXPIRED, n: 2, waiting: false, reason };
      const tell = jest.fn().mockResolvedValue(undefined);
      const { delivery } = service(
        {
          confirm: () => Promise.resolve({ changed: true, state: expired, sender: 'alice' }),
        },
        counted,
        { tell },
      );
      expect(await delivery.confirm('bob', ID)).toMatchObject({ status: DeliveryStatus.EXPIRED });
      expect(tell).toHaveBeenCalledWith('alice', {
        type: 'delivery.expired',
        messageId: ID,
        recipient: 'bob',
        reason,
        attempts: 2,
      });
      expect(counted).toEqual([]);
    });

    it('refuses an unknown delivery', async () => {
      const { delivery } = service({ confirm: () => Promise.resolve(null) });
      await expect(delivery.confirm('bob', ID)).rejects.toBeInstanceOf(DeliveryNotFoundError);
    });
  });
});
