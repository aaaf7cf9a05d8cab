import { AddressingMode } from '../messages/message.model';
import {
  deliveryReason,
  fateOf,
  removalOf,
  REQUEST_GRACE_MS,
  type MessageHead,
} from './retention-policy';

const limits = { maxMessages: 100, maxAgeMs: 60_000 };

function head(mode: AddressingMode, target: string | null = null): MessageHead {
  return { mode, target, createdAt: 1_000, expiresAt: null, threadId: 'm', replyBy: null };
}

describe(removalOf.name, () => {
  it('counts an entry older than the lowest score kept as aged out, any other as beyond the count', () => {
    expect(removalOf(999, 1_000, false)).toBe('age');
    expect(removalOf(1_000, 1_000, false)).toBe('count');
    expect(removalOf(5, null, false)).toBe('count');
  });

  it('names the deletion whatever the score', () => {
    expect(removalOf(5, 1_000, true)).toBe('deleted');
  });
});

describe(fateOf.name, () => {
  it("deletes a DIRECT message with its one mailbox's entry, however it left", () => {
    for (const removal of ['count', 'age', 'deleted'] as const) {
      expect(fateOf(head(AddressingMode.DIRECT, 'alice'), 'alice', removal, limits)).toEqual({
        kind: 'delete',
      });
    }
  });

  it('keeps a DIRECT request past its deadline, for the sweep that tells its sender', () => {
    const request = { ...head(AddressingMode.DIRECT, 'alice'), replyBy: 5_000 };
    for (const removal of ['count', 'age', 'deleted'] as const) {
      expect(fateOf(request, 'alice', removal, limits)).toEqual({
        kind: 'expireAt',
        at: 5_000 + REQUEST_GRACE_MS,
      });
    }
  });

  it('keeps a DIRECT message that another mailbox is the target of', () => {
    expect(fateOf(head(AddressingMode.DIRECT, 'bob'), 'alice', 'count', limits)).toEqual({
      kind: 'keep',
    });
  });

  it('deletes a BROADCAST that ages out, since every holder drops it at the same age', () => {
    expect(fateOf(head(AddressingMode.BROADCAST), 'alice', 'age', limits)).toEqual({
      kind: 'delete',
    });
  });

  it('keeps a BROADCAST that one holder drops by count or deletion, until the age limit', () => {
    for (const removal of ['count', 'deleted'] as const) {
      expect(fateOf(head(AddressingMode.BROADCAST), 'alice', removal, limits)).toEqual({
        kind: 'expireAt',
        at: 61_000,
      });
    }
    expect(
      fateOf(head(AddressingMode.BROADCAST), 'alice', 'count', { ...limits, maxAgeMs: 0 }),
    ).toEqual({ kind: 'keep' });
  });

  it('keeps TOPIC messages and does nothing for a hash that is gone', () => {
    expect(fateOf(head(AddressingMode.TOPIC, 'a.b'), 'alice', 'age', limits)).toEqual({
      kind: 'keep',
    });
    expect(fateOf(null, 'alice', 'age', limits)).toEqual({ kind: 'keep' });
  });
});

describe(deliveryReason.name, () => {
  it('names the limit that dropped the message, and its value', () => {
    expect(deliveryReason('count', limits)).toContain('100 messages (MAILBOX_MAX_MESSAGES)');
    expect(deliveryReason('age', limits)).toContain('60 seconds (MAILBOX_MAX_AGE)');
    expect(deliveryReason('deleted', limits)).toContain('deleted');
  });
});
