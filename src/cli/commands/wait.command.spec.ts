import { decodeTime } from 'ulid';
import type { MessageLike } from '../../agent-view/agent-message';
import { replayCursor, waitedFor } from './wait.command';

describe(replayCursor.name, () => {
  it('is a ULID from before now, below every id made at that time', () => {
    const now = Date.parse('2026-01-02T03:04:05.000Z');
    const cursor = replayCursor(now);
    expect(cursor).toMatch(/^[0-9A-HJKMNP-TV-Z]{10}0{16}$/);
    expect(decodeTime(cursor)).toBe(now - 30_000);
  });
});

describe(waitedFor.name, () => {
  const base = { sender: 'alice', threadId: 't1', read: false } as MessageLike;

  it('takes unread messages of the thread and sender asked for', () => {
    expect(waitedFor(base, { threadId: null, from: null })).toBe(true);
    expect(waitedFor(base, { threadId: 't1', from: 'alice' })).toBe(true);
    expect(waitedFor({ ...base, read: undefined }, { threadId: null, from: null })).toBe(true);
  });

  it('leaves read messages, other threads and other senders', () => {
    expect(waitedFor({ ...base, read: true }, { threadId: null, from: null })).toBe(false);
    expect(waitedFor(base, { threadId: 't2', from: null })).toBe(false);
    expect(waitedFor(base, { threadId: null, from: 'bob' })).toBe(false);
  });
});
