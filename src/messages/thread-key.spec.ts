import { messageIdTime } from './message-id';
import { threadEntries, threadKey } from './thread-key';

const ROOT = '01JGZ5K3Y6Q2V8W9X0A1B2C3D4';
const REPLY = '01JGZ5K3Y7Q2V8W9X0A1B2C3D5';

describe(threadKey.name, () => {
  it('names a thread by a hex digest, whatever its text', () => {
    expect(threadKey('a}{b*:c')).toMatch(/^[0-9a-f]{64}$/);
    expect(threadKey('x')).not.toBe(threadKey('y'));
  });
});

describe(threadEntries.name, () => {
  it('adds nothing for a message that starts its own thread', () => {
    expect(threadEntries({ id: ROOT, createdAt: 1, threadId: ROOT, inReplyTo: null })).toEqual([]);
  });

  it('adds a reply to the first message, and that message too', () => {
    expect(threadEntries({ id: REPLY, createdAt: 5, threadId: ROOT, inReplyTo: ROOT })).toEqual([
      [5, REPLY],
      [messageIdTime(ROOT), ROOT],
    ]);
  });

  it('adds only the message deeper in a thread, or in a thread named by the sender', () => {
    expect(threadEntries({ id: REPLY, createdAt: 5, threadId: ROOT, inReplyTo: 'other' })).toEqual([
      [5, REPLY],
    ]);
    expect(threadEntries({ id: REPLY, createdAt: 5, threadId: 'plan-7', inReplyTo: null })).toEqual(
      [[5, REPLY]],
    );
  });
});
