import { decodeTime, isValid } from 'ulid';
import { messageIdGenerator, messageIdTime, newMessageId } from './message-id';

const AT = Date.UTC(2026, 10, 27, 5, 0, 0, 123);
const FORTY_BITS = 2 ** 40;

/** A random source that answers the given 40-bit numbers in turn. */
function answering(...values: number[]): () => number {
  let next = 0;
  return () => values[next++ % values.length];
}

describe('message ids', () => {
  it('are ULIDs whose time the ulid package reads back', () => {
    const next = messageIdGenerator();
    for (const time of [0, 1, AT, 2 ** 48 - 1]) {
      const id = next(time);
      expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
      expect(isValid(id)).toBe(true);
      expect(decodeTime(id)).toBe(time);
      expect(messageIdTime(id)).toBe(time);
    }
  });

  it('spell the random part as two 40-bit numbers, high first', () => {
    const next = messageIdGenerator(answering(0, 31 * 32 ** 7 + 1));
    expect(next(AT).slice(10)).toBe('00000000' + 'Z0000001');
  });

  it('increase strictly within a millisecond, across milliseconds and when the clock steps back', () => {
    const next = messageIdGenerator();
    const ids = [
      ...Array.from({ length: 5_000 }, () => next(AT)),
      ...Array.from({ length: 5_000 }, (_, i) => next(AT + 1 + Math.floor(i / 100))),
      ...Array.from({ length: 100 }, () => next(AT - 10_000)),
    ];
    for (let i = 1; i < ids.length; i += 1) expect(ids[i] > ids[i - 1]).toBe(true);
    expect(messageIdTime(ids[ids.length - 1])).toBe(AT + 50);
  });

  it('carry from the low 40 bits into the high ones', () => {
    const next = messageIdGenerator(answering(7, FORTY_BITS - 1));
    const first = next(AT);
    const second = next(AT);
    expect(first.slice(10)).toBe('00000007' + 'ZZZZZZZZ');
    expect(second.slice(10)).toBe('00000008' + '00000000');
  });

  it('refuse to repeat an id once a millisecond has none left', () => {
    const next = messageIdGenerator(answering(FORTY_BITS - 1));
    next(AT);
    expect(() => next(AT)).toThrow(/no message id is left/);
  });

  it('draw fresh random bits each millisecond', () => {
    const next = messageIdGenerator();
    const randomParts = new Set(Array.from({ length: 200 }, (_, i) => next(AT + i).slice(10)));
    expect(randomParts.size).toBe(200);
  });

  it('read the time of lower-case ids and refuse what is not one', () => {
    const id = newMessageId();
    expect(messageIdTime(id.toLowerCase())).toBe(messageIdTime(id));
    expect(Math.abs(messageIdTime(id) - Date.now())).toBeLessThan(60_000);
    for (const bad of [
      '',
      'short',
      'U1234567890123456789012345',
      '\u00e91234567890123456789012345',
    ])
      expect(() => messageIdTime(bad)).toThrow(/not a message id/);
  });
});
