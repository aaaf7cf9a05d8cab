import { createHash, randomFillSync } from 'node:crypto';
import { isValid } from 'ulid';
import { InvalidFieldError } from './message.errors';

/** Crockford's Base32, as ULIDs use it. */
const ENCODING = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const DECODING = new Int8Array(128).fill(-1);
for (let value = 0; value < ENCODING.length; value += 1) {
  DECODING[ENCODING.charCodeAt(value)] = value;
  DECODING[ENCODING.toLowerCase().charCodeAt(value)] = value;
}
const FORTY_BITS = 2 ** 40;
const TIME_CHARACTERS = 10;
const POOL_BYTES = 4096;

/** `value` (below 32 ** length) in `length` Base32 characters. */
function encode(value: number, length: number): string {
  let text = '';
  for (let left = value, i = 0; i < length; i += 1) {
    text = ENCODING[left % 32] + text;
    left = Math.floor(left / 32);
  }
  return text;
}

/** Random 40-bit numbers from the operating system's CSPRNG, drawn 4 KiB at a time. */
function pooledRandom40(): () => number {
  const pool = new Uint8Array(POOL_BYTES);
  let next = POOL_BYTES;
  return () => {
    if (next + 5 > POOL_BYTES) {
      randomFillSync(pool);
      next = 0;
    }
    const at = next;
    next += 5;
    const low32 =
      ((pool[at + 1] << 24) | (pool[at + 2] << 16) | (pool[at + 3] << 8) | pool[at + 4]) >>> 0;
    return pool[at] * 2 ** 32 + low32;
  };
}

/**
 * A ULID generator, strictly increasing within the process: the first id of a millisecond
 * takes 80 fresh random bits, later ones in the same millisecond (or while the clock stands
 * behind the last one) add one to them. The random part is kept as two 40-bit numbers and
 * their text, so an id costs two short encodings and no allocation beyond the string.
 */
export function messageIdGenerator(random40 = pooledRandom40()): (now?: number) => string {
  let lastTime = -1;
  let timeText = '';
  let high = 0;
  let highText = '';
  let low = 0;
  return (now = Date.now()) => {
    if (now > lastTime) {
      lastTime = now;
      timeText = encode(now, TIME_CHARACTERS);
      high = random40();
      low = random40();
      highText = encode(high, 8);
    } else {
      low += 1;
      if (low === FORTY_BITS) {
        low = 0;
        high += 1;
        if (high === FORTY_BITS) throw new Error('no message id is left in this millisecond');
        highText = encode(high, 8);
      }
    }
    return timeText + highText + encode(low, 8);
  };
}

/** Message ids are ULIDs: time-ordered, and strictly increasing within this process. */
export const newMessageId: () => string = messageIdGenerator();

/**
 * A message id that is the same wherever and however often it is made: `time` as the ULID's
 * time, and the first 80 bits of SHA-256(`seed`) as its random part. For a message the
 * service may write more than once (a retry after a crash, or two instances doing the same
 * work): the second write finds the id already stored and changes nothing. Seeds of
 * different kinds of message should differ in a prefix, so that their ids never meet.
 */
export function derivedMessageId(time: number, seed: string): string {
  if (!Number.isInteger(time) || time < 0 || time >= 2 ** 48) {
    throw new Error(`${time} is not a message id time (whole epoch milliseconds)`);
  }
  const digest = createHash('sha256').update(seed, 'utf8').digest();
  const high = digest.readUIntBE(0, 5);
  const low = digest.readUIntBE(5, 5);
  return encode(time, TIME_CHARACTERS) + encode(high, 8) + encode(low, 8);
}

/** The time a message id (a ULID) was made, in epoch milliseconds. */
export function messageIdTime(id: string): number {
  let time = 0;
  for (let i = 0; i < TIME_CHARACTERS; i += 1) {
    const code = id.charCodeAt(i);
    const value = code < 128 ? DECODING[code] : -1;
    if (value < 0) throw new Error(`${JSON.stringify(id)} is not a message id`);
    time = time * 32 + value;
  }
  return time;
}

/** A message id as the service writes it: a ULID in capitals whose time fits 48 bits. */
const MESSAGE_ID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** Whether `value` is a message id exactly as the service writes them (no case folded). */
export function isMessageId(value: string): boolean {
  return MESSAGE_ID.test(value);
}

/** Checks a cursor or message id argument: a ULID, or '0' where `allowStart` (from the start). */
export function assertMessageId(value: string, field: string, allowStart = false): string {
  if (allowStart && value === '0') return value;
  if (typeof value !== 'string' || value.length !== 26 || !isValid(value)) {
    throw new InvalidFieldError(
      field,
      `${JSON.stringify(value.slice(0, 40))} is not a message id (a 26-character ULID)${allowStart ? ' or "0"' : ''}`,
    );
  }
  // A ULID's time is 48 bits: its first character is at most 7.
  if (messageIdTime(value) >= 2 ** 48) {
    throw new InvalidFieldError(
      field,
      `${JSON.stringify(value)} is not a message id: its time part is past the largest (7ZZZZZZZZZ)`,
    );
  }
  return value.toUpperCase();
}
