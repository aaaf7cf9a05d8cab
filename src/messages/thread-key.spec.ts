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
    expect(threadEntries({ id: ROOT, createdAt: 1, threadId: ROOT })).toEqual([]);
  });

  it('adds a message of a thread named by a message id, and that first message too', () => {
    // Whether it answers the first message, one deeper, or nothing (the thread named).
    expect(threadEntries({ id: REPLY, createdAt: 5, threadId: ROOT })).toEqual([
      [5, REPLY],
      [messageIdTime(ROOT), ROOT],
    ]);
  });

  it('adds only the message in a thread named otherwise', () => {
    for (const threadId of ['plan-7', ROOT.toLowerCase(), `8${ROOT.slice(1)}`, `${ROOT}0`]) {
      expect(threadEntries({ id: REPLY, createdAt: 5, threadId })).toEqual([[5, REPLY]]);
    }
  });
});
