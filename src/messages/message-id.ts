import { randomFillSync } from 'node:crypto';
import { monotonicFactory, isValid } from 'ulid';
import { InvalidFieldError } from './message.errors';

const POOL_WORDS = 1024;

/**
 * Numbers in [0, 1) from the operating system's CSPRNG, drawn 4 KiB at a time: the ulid
 * package asks for one number per character, and a system call for each was the largest
 * single cost of making an id.
 */
function pooledRandom(): () => number {
  const pool = new Uint32Array(POOL_WORDS);
  let next = POOL_WORDS;
  return () => {
    if (next === POOL_WORDS) {
      randomFillSync(pool);
      next = 0;
    }
    const word = pool[next];
    next += 1;
    return word / 0x1_0000_0000;
  };
}

/** Message ids are ULIDs: time-ordered, and strictly increasing within this process. */
export const newMessageId: () => string = monotonicFactory(pooledRandom());

/** Checks a cursor or message id argument: a ULID, or '0' where `allowStart` (from the start). */
export function assertMessageId(value: string, field: string, allowStart = false): string {
  if (allowStart && value === '0') return value;
  if (typeof value !== 'string' || value.length !== 26 || !isValid(value)) {
    throw new InvalidFieldError(
      field,
      `${JSON.stringify(value.slice(0, 40))} is not a message id (a 26-character ULID)${allowStart ? ' or "0"' : ''}`,
    );
  }
  return value.toUpperCase();
}
