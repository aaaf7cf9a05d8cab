import { monotonicFactory, isValid } from 'ulid';
import { InvalidFieldError } from './message.errors';

/** Message ids are ULIDs: time-ordered, and strictly increasing within this process. */
export const newMessageId: () => string = monotonicFactory();

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
