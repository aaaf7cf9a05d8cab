import { encodeTime } from 'ulid';
import type { ChannelListener, RedisPubSubService } from '../redis/redis-pubsub.service';
import { DeliveryStatus, type DeliveryConfirmation } from './delivery-confirmation.model';
import type { DeliveryConfirmationRepository } from './delivery-confirmation.repository';
import { DeliveryFeeds } from './delivery-feeds';
import type { ConfirmationRecord, RecipientState } from './delivery-state';
import { strict } from '../../test/utils/strict';

const ID = '01JTESTMESSAGE000000000000';
const { PENDING, DELIVERED } = DeliveryStatus;

const waiting: RecipientState = { status: PENDING, n: 0, waiting: true };
const attempted: RecipientState = {
  status: PENDING,
  n: 1,
  waiting: false,
  v: 1,
  log: [{ n: 1, at: 1_000 }],
};
const delivered: RecipientState = {
  status: DELIVERED,
  n: 1,
  waiting: false,
  v: 2,
  log: [{ n: 1, at: 1_000, latencyMs: 5 }],
};

function record(recipients: Record<string, RecipientState>): ConfirmationRecord {
  return {
    messageId: ID,
    sender: 'planner',
    priority: 'NORMAL',
    expiresAt: null,
    recipients: new Map(Object.entries(recipients)),
  };
}

/**
 * Pub/sub and a confirmation store the test drives: `publish` reaches the listeners of a
 * channel, `reconnect` plays a subscriber connection that came back, and each read of the
 * confirmation waits until the test answers it with `answer`.
 */
function harness() {
  const listeners = new Map<string, Set<ChannelListener>>();
  const reconnects = new Set<(downSince: number) => void>();
  const reads: Array<(value: ConfirmationRecord | null) => void> = [];
  const pubsub = strict<RedisPubSubService>({
    subscribe: (channel: string, listener: ChannelListener) => {
      const set = listeners.get(channel) ?? new Set();
      set.add(listener);
      listeners.set(channel, set);
      return Promise.resolve(() => {
        set.delete(listener);
        return Promise.resolve();
      });
    },
    onReconnect: (listener: (downSince: number) => void) => {
      reconnects.add(listener);
      return () => reconnects.delete(listener);
    },
  });
  const confirmations = strict<DeliveryConfirmationRepository>({
    eventsChannel: (messageId: string) => `events:${messageId}`,
    senderChannel: (sender: string) => `deliveries:${sender}`,
    find: () => new Promise<ConfirmationRecord | null>((resolve) => reads.push(resolve)),
  });
  const publish = (channel: string, payload: unknown): void => {
    for (const listener of listeners.get(channel) ?? []) listener(payload);
  };
  const answer = async (value: ConfirmationRecord | null): Promise<void> => {
    while (reads.length === 0) await new Promise((resolve) => setImmediate(resolve));
    (reads.shift() as (value: ConfirmationRecord | null) => void)(value);
  };
  return {
    feeds: new DeliveryFeeds(pubsub, confirmations),
    publish,
    answer,
    reconnect: () => reconnects.forEach((listener) => listener(0)),
    listenerCount: (channel: string) => listeners.get(channel)?.size ?? 0,
  };
}

/** What the iterator yields, as `mailbox status attempts`, collected as it comes. */
function collect(iterator: AsyncIterableIterator<DeliveryConfirmation>): string[] {
  const seen: string[] = [];
  void (async () => {
    for await (const value of iterator) {
      seen.push(`${value.mailbox} ${value.status} ${value.attempts.length}`);
    }
  })();
  return seen;
}

/** Lets what is under way settle. */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

describe(DeliveryFeeds.name, () => {
  describe('watchMessage', () => {
    it('tells the state read first, then the changes, and a change the read showed once', async () => {
      const { feeds, publish, answer } = harness();
      const opening = feeds.watchMessage(ID, () => true);
      // Published after the subscription and before the read: the read shows it too.
      await new Promise((resolve) => setImmediate(resolve));
      publish(`events:${ID}`, { mailbox: 'worker', state: attempted });
      await answer(record({ worker: attempted, helper: waiting }));
      const seen = collect(await opening);
      publish(`events:${ID}`, { mailbox: 'worker', state: delivered });
      await settle();
      expect(seen).toEqual(['helper PENDING 0', 'worker PENDING 1', 'worker DELIVERED 1']);
    });

    it('tells a change that came during the read after the state, when it is later', async () => {
      const { feeds, publish, answer } = harness();
      const opening = feeds.watchMessage(ID, () => true);
      await new Promise((resolve) => setImmediate(resolve));
      publish(`events:${ID}`, { mailbox: 'worker', state: delivered });
      await answer(record({ worker: attempted }));
      const seen = collect(await opening);
      await settle();
      expect(seen).toEqual(['worker PENDING 1', 'worker DELIVERED 1']);
    });

    it('drops a change older than the state read', async () => {
      const { feeds, publish, answer } = harness();
      const opening = feeds.watchMessage(ID, () => true);
      await answer(record({ worker: delivered }));
      const seen = collect(await opening);
      publish(`events:${ID}`, { mailbox: 'worker', state: attempted });
      await settle();
      expect(seen).toEqual(['worker DELIVERED 1']);
    });

    it('tells only the recipients the caller may see', async () => {
      const { feeds, publish, answer } = harness();
      const opening = feeds.watchMessage(ID, (mailbox) => mailbox === 'helper');
      await answer(record({ worker: attempted, helper: waiting }));
      const seen = collect(await opening);
      publish(`events:${ID}`, { mailbox: 'worker', state: delivered });
      await settle();
      expect(seen).toEqual(['helper PENDING 0']);
    });

    it('after a reconnect, reads again and tells what moved meanwhile, once', async () => {
      const { feeds, answer, reconnect } = harness();
      const opening = feeds.watchMessage(ID, () => true);
      await answer(record({ worker: attempted, helper: waiting }));
      const seen = collect(await opening);
      await settle();
      expect(seen).toEqual(['helper PENDING 0', 'worker PENDING 1']);
      reconnect();
      await answer(record({ worker: delivered, helper: waiting }));
      await settle();
      expect(seen).toEqual(['helper PENDING 0', 'worker PENDING 1', 'worker DELIVERED 1']);
    });

    it('tells the state of a broadcast larger than a feed holds, paced by the client', async () => {
      const { feeds, answer } = harness();
      const many = Object.fromEntries(
        Array.from({ length: 12_000 }, (_, i) => [`m${String(i).padStart(5, '0')}`, waiting]),
      );
      const opening = feeds.watchMessage(ID, () => true);
      await answer(record(many));
      const iterator = await opening;
      let told = 0;
      for (; told < 12_000; told += 1) {
        const next = await iterator.next();
        expect(next.done).toBe(false);
      }
      expect(told).toBe(12_000);
    });

    it('leaves the channel when the watch ends', async () => {
      const { feeds, answer, listenerCount } = harness();
      const opening = feeds.watchMessage(ID, () => true);
      await answer(null);
      const iterator = await opening;
      expect(listenerCount(`events:${ID}`)).toBe(1);
      await iterator.return?.();
      expect(listenerCount(`events:${ID}`)).toBe(0);
    });
  });

  describe('watchSender', () => {
    it("tells each change of the sender's deliveries once, dropping repeats and late ones", async () => {
      const { feeds, publish } = harness();
      const seen = collect(await feeds.watchSender('planner', null));
      const event = (state: RecipientState, messageId = ID) => ({
        messageId,
        mailbox: 'worker',
        state,
      });
      publish('deliveries:planner', event(attempted));
      publish('deliveries:planner', event(delivered));
      publish('deliveries:planner', event(delivered));
      publish('deliveries:planner', event(attempted));
      publish('deliveries:planner', event(attempted, '01JTESTMESSAGE000000000001'));
      publish('deliveries:somebody-else', event(waiting, '01JTESTMESSAGE000000000002'));
      await settle();
      expect(seen).toEqual(['worker PENDING 1', 'worker DELIVERED 1', 'worker PENDING 1']);
    });

    it('leaves out, for a mailbox registered again under the name, what the old one sent', async () => {
      const { feeds, publish } = harness();
      const registeredAt = Date.UTC(2026, 0, 1);
      const seen = collect(await feeds.watchSender('planner', registeredAt));
      const before = encodeTime(registeredAt - 60_000, 10) + '0'.repeat(16);
      const after = encodeTime(registeredAt + 1_000, 10) + '0'.repeat(16);
      publish('deliveries:planner', { messageId: before, mailbox: 'old', state: attempted });
      publish('deliveries:planner', { messageId: after, mailbox: 'new', state: attempted });
      await settle();
      expect(seen).toEqual(['new PENDING 1']);
    });

    it('hands every local subscriber the same event object, so that they share its execution', async () => {
      const { feeds, publish } = harness();
      const first = await feeds.watchSender('planner', null);
      const second = await feeds.watchSender('planner', null);
      publish('deliveries:planner', { messageId: ID, mailbox: 'worker', state: attempted });
      const [a, b] = await Promise.all([first.next(), second.next()]);
      expect(a.value).toBe(b.value);
    });
  });
});
