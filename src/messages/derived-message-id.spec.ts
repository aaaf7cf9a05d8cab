import { createHash } from 'node:crypto';
import { decodeTime, isValid } from 'ulid';
import { derivedMessageId, messageIdTime, newMessageId } from './message-id';

const AT = Date.UTC(2026, 10, 27, 5, 0, 0, 123);
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** The 80-bit random part spelled bit by bit, independently of the encoder under test. */
function expectedRandomPart(seed: string): string {
  const digest = createHash('sha256').update(seed).digest();
  const bits = [...digest.subarray(0, 10)]
    .map((byte) => byte.toString(2).padStart(8, '0'))
    .join('');
  let text = '';
  for (let i = 0; i < 80; i += 5) text += CROCKFORD[parseInt(bits.slice(i, i + 5), 2)];
  return text;
}

describe('derived message ids', () => {
  it('are ULIDs of the given time whose random part is the seed digest', () => {
    for (const time of [0, 1, AT, 2 ** 48 - 1]) {
      const id = derivedMessageId(time, 'reply.timeout:01KB3Q0000000000000000000A');
      expect(isValid(id)).toBe(true);
      expect(decodeTime(id)).toBe(time);
      expect(messageIdTime(id)).toBe(time);
      expect(id.slice(10)).toBe(expectedRandomPart('reply.timeout:01KB3Q0000000000000000000A'));
    }
  });

  it('are the same for the same time and seed, and differ when either differs', () => {
    const seed = `reply.timeout:${newMessageId()}`;
    expect(derivedMessageId(AT, seed)).toBe(derivedMessageId(AT, seed));
    expect(derivedMessageId(AT + 1, seed)).not.toBe(derivedMessageId(AT, seed));
    expect(derivedMessageId(AT, `${seed}x`).slice(10)).not.toBe(
      derivedMessageId(AT, seed).slice(10),
    );
    const many = new Set(
      Array.from({ length: 1_000 }, () => derivedMessageId(AT, newMessageId()).slice(10)),
    );
    expect(many.size).toBe(1_000);
  });

  it('refuse a time that is no ULID time', () => {
    for (const bad of [-1, 1.5, 2 ** 48, Number.NaN]) {
      expect(() => derivedMessageId(bad, 'seed')).toThrow(/not a message id time/);
    }
  });
});
