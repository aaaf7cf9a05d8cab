import type { TestingModule } from '@nestjs/testing';
import { ulid } from 'ulid';
import {
  DeliveryConfirmationRepository,
  type DeadLetterRecord,
} from '../../src/delivery/delivery-confirmation.repository';
import { MailboxRepository } from '../../src/mailboxes/mailbox.repository';
import { MessagePriority } from '../../src/messages/message.model';
import { MessageStore } from '../../src/store/message-store';
import { SendEvents } from '../../src/store/send-events';
import { trackedBroadcast } from '../factories/messages';
import { RedisServer } from '../utils/redis-server';
import { redisTestingModule } from '../utils/redis-context';

const MAILBOXES = ['ant', 'bee', 'cat'];

describe('pages of dead letters against a real Redis', () => {
  let redisServer: RedisServer;
  let module: TestingModule;
  let repository: DeliveryConfirmationRepository;

  /** A tracked broadcast to MAILBOXES, each of its deliveries dead-lettered at `at`. */
  async function deadBroadcast(at: number): Promise<void> {
    const id = ulid(at);
    await module.get(MessageStore).deliver(trackedBroadcast(id, at), MAILBOXES);
    for (const mailbox of MAILBOXES) {
      // One attempt, never confirmed: the failure files the dead letter.
      await repository.attempt(id, mailbox, 'first', at, [1_000], 100);
      const record = { messageId: id, mailbox, reason: 'no', attempts: 1, deadLetteredAt: at };
      expect(await repository.failAndDeadLetter(record, MessagePriority.NORMAL, 60_000)).toBe(true);
    }
  }

  /** Every dead letter, read `size` at a time, each page after the last one's place. */
  async function paged(mailbox: string | null, size: number): Promise<DeadLetterRecord[]> {
    const all: DeadLetterRecord[] = [];
    for (let pages = 0; ; pages += 1) {
      expect(pages).toBeLessThan(20);
      const page = await repository.deadLetters(mailbox, size, all.at(-1) ?? null);
      expect(page.length).toBeLessThanOrEqual(size);
      if (page.length === 0) return all;
      all.push(...page);
    }
  }

  const key = (record: DeadLetterRecord): string => `${record.mailbox}|${record.messageId}`;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    ({ module } = await redisTestingModule(redisServer.url, [
      DeliveryConfirmationRepository,
      MessageStore,
      MailboxRepository,
      SendEvents,
    ]));
    repository = module.get(DeliveryConfirmationRepository);
    // Many share a time: two broadcasts at 1,000 and two at 2,000 (six and six dead letters
    // of one millisecond), one at 3,000.
    for (const at of [1_000, 1_000, 2_000, 2_000, 3_000]) await deadBroadcast(at);
  });

  afterAll(async () => {
    await module.close();
    await redisServer.destroy();
  });

  it('goes on from a page to the next with no gap and no repeat, however many share a time', async () => {
    const whole = await repository.deadLetters(null, 500);
    expect(whole).toHaveLength(15);
    expect(new Set(whole.map(key)).size).toBe(15);
    expect(whole.map((record) => record.deadLetteredAt)).toEqual(
      [...whole.map((record) => record.deadLetteredAt)].sort((a, b) => b - a),
    );
    for (const size of [1, 2, 4, 5, 7, 15, 16]) {
      expect((await paged(null, size)).map(key)).toEqual(whole.map(key));
    }
  });

  it("pages one mailbox's dead letters the same way, from its own cursor or another list's", async () => {
    const whole = await repository.deadLetters('bee', 500);
    expect(whole).toHaveLength(5);
    for (const size of [1, 2, 3]) {
      expect((await paged('bee', size)).map(key)).toEqual(whole.map(key));
    }
    // A place in the list of all: the mailbox's dead letters after it in time, then id.
    const third = whole[2];
    const after = await repository.deadLetters('bee', 500, { ...third, mailbox: 'ant' });
    expect(after.map(key)).toEqual(whole.slice(3).map(key));
  });
});
