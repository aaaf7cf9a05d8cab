import { MessagePriority } from '../messages/message.model';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';
import type { RedisTopology } from '../redis/redis-topology.service';
import { DeliveryUpdateCode } from '../redis/script-codes';
import { DeliveryStatus } from './delivery-confirmation.model';
import {
  DeliveryConfirmationRepository,
  PRIORITY_ORDER,
  type DeadLetterRecord,
} from './delivery-confirmation.repository';
import type { RecipientState } from './delivery-state';
import { strict } from '../../test/utils/strict';

const keys = new RedisKeys('p:');
const ID = '01JTESTMESSAGE000000000000';
const MESSAGE = {
  id: ID,
  sender: 'alice',
  priority: MessagePriority.NORMAL,
  expiresAt: null,
  createdAt: 42,
};
const schedules = PRIORITY_ORDER.map((priority) => keys.retrySchedule(priority));

/**
 * Records every write as `command key [member]` in the order the repository issues them.
 * update-delivery.lua answers with `answer` (null: an unknown recipient).
 */
function recordingRedis(answer: { changed: boolean; state: RecipientState } | null): {
  redis: ScriptedClient;
  writes: string[];
} {
  const writes: string[] = [];
  const redis = strict<ScriptedClient>({
    updateDelivery: (key: string, mailbox: string, _now: unknown, action: string) => {
      writes.push(`updateDelivery ${key} ${mailbox} ${action}`);
      return Promise.resolve(
        answer === null
          ? [DeliveryUpdateCode.Unchanged, null]
          : [
              answer.changed ? DeliveryUpdateCode.Changed : DeliveryUpdateCode.Unchanged,
              JSON.stringify(answer.state),
            ],
      );
    },
    deadLetter: (records: string, _index: string, pending: string, id: string) => {
      writes.push(`deadLetter ${records} ${pending} ${id}`);
      return Promise.resolve(1);
    },
    zadd: ((key: string, ...args: string[]) => {
      // [flag,] score, member
      const [score, member] = args.slice(-2);
      const flag = args.length > 2 ? ` ${args[0]}` : '';
      writes.push(`zadd${flag} ${key} ${member} ${score}`);
      return Promise.resolve(1);
    }) as unknown as ScriptedClient['zadd'],
    zrem: ((key: string, member: string) => {
      writes.push(`zrem ${key} ${member}`);
      return Promise.resolve(1);
    }) as unknown as ScriptedClient['zrem'],
    hdel: ((key: string, field: string) => {
      writes.push(`hdel ${key} ${field}`);
      return Promise.resolve(1);
    }) as unknown as ScriptedClient['hdel'],
    // Reads, not writes: the sender to tell a change (see 'telling the sender').
    hget: (_key: string, field: string) => Promise.resolve(field === 'sender' ? SENDER : null),
  });
  return { redis, writes };
}

const SENDER = 'alice';

/** The repository, with `told` receiving every publish as `channel payload`. */
function repository(redis: ScriptedClient, told: string[] = []): DeliveryConfirmationRepository {
  const topology = strict<RedisTopology>({
    publishCommand: () => 'PUBLISH',
    publish: (channel: string, payload: string) => {
      told.push(`${channel} ${payload}`);
      return Promise.resolve(1);
    },
  });
  return new DeliveryConfirmationRepository(redis, keys, topology);
}

const pending: RecipientState = { status: DeliveryStatus.PENDING, n: 1, waiting: false };
const waiting: RecipientState = { status: DeliveryStatus.PENDING, n: 1, waiting: true };
const delivered: RecipientState = { status: DeliveryStatus.DELIVERED, n: 1, waiting: false };
const failed: RecipientState = { status: DeliveryStatus.FAILED, n: 3, waiting: false };
const expired: RecipientState = { status: DeliveryStatus.EXPIRED, n: 1, waiting: false };

const update = (action: string): string =>
  `updateDelivery ${keys.deliveryConfirmation(ID)} bob ${action}`;

describe(DeliveryConfirmationRepository.name, () => {
  describe('confirm', () => {
    const removals = [
      ...schedules.map((schedule) => `zrem ${schedule} ${ID}|bob`),
      `zrem ${keys.mailboxPending('bob')} ${ID}`,
    ];

    it('writes DELIVERED first, then takes the delivery off every schedule and the pending list', async () => {
      const { redis, writes } = recordingRedis({ changed: true, state: delivered });
      const result = await repository(redis).confirm(ID, 'bob', 60_000, 1_000);
      expect(result).toEqual({ changed: true, state: delivered, sender: null });
      expect(writes[0]).toBe(update('deliver'));
      expect(writes.slice(1).sort()).toEqual([...removals].sort());
    });

    it('removes the entries again when repeated, so that what a crash left goes', async () => {
      const { redis, writes } = recordingRedis({ changed: false, state: delivered });
      expect(await repository(redis).confirm(ID, 'bob', 60_000, 1_000)).toEqual({
        changed: false,
        state: delivered,
        sender: null,
      });
      expect(writes.slice(1).sort()).toEqual([...removals].sort());
    });

    it('leaves the entries of a delivery that is not DELIVERED alone', async () => {
      const { redis, writes } = recordingRedis({ changed: false, state: failed });
      await repository(redis).confirm(ID, 'bob', 60_000, 1_000);
      expect(writes).toEqual([update('deliver')]);
    });

    it('answers null for an unknown recipient and writes nothing else', async () => {
      const { redis, writes } = recordingRedis(null);
      expect(await repository(redis).confirm(ID, 'bob', 60_000, 1_000)).toBeNull();
      expect(writes).toEqual([update('deliver')]);
    });
  });

  describe('redrive', () => {
    it('writes PENDING, then the pending entry, and removes the dead letter last', async () => {
      const { redis, writes } = recordingRedis({ changed: true, state: waiting });
      await repository(redis).redrive(MESSAGE, 'bob', 60_000, 1_000);
      expect(writes.slice(0, 2)).toEqual([
        update('redrive'),
        `zadd ${keys.mailboxPending('bob')} ${ID} 42`,
      ]);
      expect(writes.slice(2).sort()).toEqual(
        [
          `hdel ${keys.mailboxDeadLetters('bob')} ${ID}`,
          `zrem ${keys.mailboxDeadLetterIndex('bob')} ${ID}`,
          `zrem ${keys.deadLetterIndex()} bob|${ID}`,
        ].sort(),
      );
    });

    it('completes a redrive that found the delivery PENDING already', async () => {
      const { redis, writes } = recordingRedis({ changed: false, state: waiting });
      expect(await repository(redis).redrive(MESSAGE, 'bob', 60_000, 1_000)).not.toBeNull();
      expect(writes).toHaveLength(5);
    });

    it('answers null for an unknown recipient and writes nothing else', async () => {
      const { redis, writes } = recordingRedis(null);
      expect(await repository(redis).redrive(MESSAGE, 'bob', 60_000, 1_000)).toBeNull();
      expect(writes).toEqual([update('redrive')]);
    });
  });

  describe('failAndDeadLetter', () => {
    const record: DeadLetterRecord = {
      messageId: ID,
      mailbox: 'bob',
      reason: 'not confirmed after 3 attempts',
      attempts: 3,
      deadLetteredAt: 5_000,
    };

    it('writes FAILED, then the dead letter and its index entry, and unschedules last', async () => {
      const { redis, writes } = recordingRedis({ changed: true, state: failed });
      expect(await repository(redis).failAndDeadLetter(record, 'HIGH', 60_000)).toBe(true);
      expect(writes).toEqual([
        update('fail'),
        `deadLetter ${keys.mailboxDeadLetters('bob')} ${keys.mailboxPending('bob')} ${ID}`,
        `zadd NX ${keys.deadLetterIndex()} bob|${ID} 5000`,
        `zrem ${keys.retrySchedule('HIGH')} ${ID}|bob`,
      ]);
    });

    it('files nothing when the delivery was not failed by this call', async () => {
      const { redis, writes } = recordingRedis({ changed: false, state: delivered });
      expect(await repository(redis).failAndDeadLetter(record, 'HIGH', 60_000)).toBe(false);
      expect(writes).toEqual([update('fail')]);
    });
  });

  describe('expire', () => {
    it('writes EXPIRED first, then removes the schedule and pending entries', async () => {
      const { redis, writes } = recordingRedis({ changed: true, state: expired });
      expect(await repository(redis).expire(ID, 'bob', 'LOW', 'gone', 60_000, 1_000)).toBe(true);
      expect(writes[0]).toBe(update('expire'));
      expect(writes.slice(1).sort()).toEqual(
        [
          `zrem ${keys.retrySchedule('LOW')} ${ID}|bob`,
          `zrem ${keys.mailboxPending('bob')} ${ID}`,
        ].sort(),
      );
    });

    it('removes the entries even when the delivery was finished already', async () => {
      const { redis, writes } = recordingRedis({ changed: false, state: expired });
      expect(await repository(redis).expire(ID, 'bob', 'LOW', 'gone', 60_000, 1_000)).toBe(false);
      expect(writes).toHaveLength(3);
    });
  });

  describe('abandon', () => {
    it('fails the delivery, then unschedules it', async () => {
      const { redis, writes } = recordingRedis({ changed: true, state: failed });
      await repository(redis).abandon(ID, 'bob', 'NORMAL', 'inactive', 60_000, 1_000);
      expect(writes).toEqual([update('fail'), `zrem ${keys.retrySchedule('NORMAL')} ${ID}|bob`]);
    });
  });

  describe('waitForSubscriber', () => {
    it('schedules the expiry of a delivery that now waits', async () => {
      const { redis, writes } = recordingRedis({ changed: true, state: waiting });
      await repository(redis).waitForSubscriber(ID, 'bob', 'URGENT', 1, 9_000, 60_000, 1_000);
      expect(writes).toEqual([
        update('wait'),
        `zadd ${keys.retrySchedule('URGENT')} ${ID}|bob 9000`,
      ]);
    });

    it('unschedules a waiting delivery that never expires', async () => {
      const { redis, writes } = recordingRedis({ changed: false, state: waiting });
      await repository(redis).waitForSubscriber(ID, 'bob', 'URGENT', 1, null, 60_000, 1_000);
      expect(writes).toEqual([update('wait'), `zrem ${keys.retrySchedule('URGENT')} ${ID}|bob`]);
    });

    it('keeps the schedule of a delivery that another caller moved on', async () => {
      const { redis, writes } = recordingRedis({ changed: false, state: pending });
      await repository(redis).waitForSubscriber(ID, 'bob', 'URGENT', 1, 9_000, 60_000, 1_000);
      expect(writes).toEqual([update('wait')]);
    });
  });

  describe('pendingCount', () => {
    it('sums the pending lists of the mailboxes, a bounded batch of commands at a time', async () => {
      const sizes = new Map<string, number>();
      const names = Array.from({ length: 1_234 }, (_, i) => `m${i}`);
      names.forEach((name, i) => sizes.set(keys.mailboxPending(name), i % 3));
      let inFlight = 0;
      let mostInFlight = 0;
      const redis = strict<ScriptedClient>({
        zcard: (key: string) => {
          inFlight += 1;
          mostInFlight = Math.max(mostInFlight, inFlight);
          return new Promise<number>((resolve) =>
            setImmediate(() => {
              inFlight -= 1;
              resolve(sizes.get(key) ?? 0);
            }),
          );
        },
      });
      const expected = [...sizes.values()].reduce((sum, size) => sum + size, 0);
      expect(await repository(redis).pendingCount(names)).toBe(expected);
      expect(mostInFlight).toBe(500);
    });

    it('is 0 without mailboxes', async () => {
      expect(await repository(strict<ScriptedClient>({})).pendingCount([])).toBe(0);
    });
  });
  describe('telling the sender', () => {
    const channel = keys.senderDeliveries(SENDER);
    const tell = (state: RecipientState): string =>
      `${channel} ${JSON.stringify({ messageId: ID, mailbox: 'bob', state })}`;

    it('publishes a change on the sender channel with the state the script answered', async () => {
      const told: string[] = [];
      const { redis } = recordingRedis({ changed: true, state: delivered });
      await repository(redis, told).confirm(ID, 'bob', 60_000, 1_000);
      expect(told).toEqual([tell(delivered)]);
    });

    it('publishes nothing when the action changed nothing', async () => {
      const told: string[] = [];
      const { redis } = recordingRedis({ changed: false, state: delivered });
      await repository(redis, told).confirm(ID, 'bob', 60_000, 1_000);
      expect(told).toEqual([]);
    });

    it('reads back the state of a claimed attempt, whose script answers only the attempt', async () => {
      const told: string[] = [];
      const attempted: RecipientState = { ...pending, v: 1, next: 2_000 };
      const redis = strict<ScriptedClient>({
        attemptDelivery: () => Promise.resolve([1, 2_000, 0] as [number, number, number]),
        hmget: ((_key: string, ...fields: string[]) =>
          Promise.resolve(
            fields.map((field) =>
              field === 'sender' ? SENDER : field === 'r:bob' ? JSON.stringify(attempted) : null,
            ),
          )) as unknown as ScriptedClient['hmget'],
      });
      const claimed = await repository(redis, told).attempt(ID, 'bob', 'first', 0, [1_000], 1_000);
      expect(claimed).toEqual({ attempt: 1, nextAt: 2_000, redrivenAt: 0 });
      expect(told).toEqual([tell(attempted)]);
    });

    it('tells nothing of an attempt that was not claimed', async () => {
      const told: string[] = [];
      const redis = strict<ScriptedClient>({
        attemptDelivery: () => Promise.resolve([0, 0, 0] as [number, number, number]),
      });
      expect(await repository(redis, told).attempt(ID, 'bob', 'retry', 1, [1_000], 1_000)).toBe(
        null,
      );
      expect(told).toEqual([]);
    });

    it('keeps the change when the publish fails: the event is lost, not the transition', async () => {
      const { redis, writes } = recordingRedis({ changed: true, state: expired });
      const topology = strict<RedisTopology>({
        publishCommand: () => 'PUBLISH',
        publish: () => Promise.reject(new Error('connection lost')),
      });
      const repo = new DeliveryConfirmationRepository(redis, keys, topology);
      expect(await repo.expire(ID, 'bob', 'LOW', 'gone', 60_000, 1_000)).toBe(true);
      expect(writes).toHaveLength(3);
    });
  });
});
