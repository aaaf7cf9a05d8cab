import { InvalidFieldError } from '../messages/message.errors';
import { assertMessageId } from '../messages/message-id';

/**
 * A place in the order in which topic messages were stored (`topic:{name}:arrivals`, see
 * enqueue-topic.lua): after every message stored at an earlier `stamp` (Redis time in
 * microseconds), and after those stored at `stamp` itself whose id is not greater than `id`;
 * `id` null is after every message of `stamp`. A topic's stamps are its own and never repeat;
 * two topics may share one, which the id tells apart.
 *
 * Written out (read_topic's next_cursor) as `<stamp>` or `<stamp>-<id>`; "0" is the start.
 */
export interface ArrivalCursor {
  stamp: number;
  id: string | null;
}

/** A stored message's own place. */
export interface Arrival extends ArrivalCursor {
  id: string;
}

/** The first place: before every message. */
export const ARRIVALS_START: ArrivalCursor = { stamp: 0, id: null };

/** Digits of the largest stamp a double holds exactly (2^53), the width of a merge key. */
const STAMP_DIGITS = 16;
/** Sorts after every id, so that a merge key with no id is after every message of its stamp. */
const AFTER_EVERY_ID = '~';

const WRITTEN = /^(\d{1,16})(?:-([0-9A-Za-z]{26}))?$/;

/** The cursor as an agent passes it back. */
export function formatArrivalCursor(cursor: ArrivalCursor): string {
  return cursor.id === null ? String(cursor.stamp) : `${cursor.stamp}-${cursor.id}`;
}

/**
 * A cursor written by formatArrivalCursor, or null when `value` is not one (a message id,
 * say, which the caller may take otherwise). A stamp past 2^53 is refused: no stamp is.
 */
export function parseArrivalCursor(value: string, field: string): ArrivalCursor | null {
  const match = WRITTEN.exec(value);
  if (match === null) return null;
  const stamp = Number(match[1]);
  if (!Number.isSafeInteger(stamp)) {
    throw new InvalidFieldError(
      field,
      `${JSON.stringify(value)} is not a cursor: its time is past the largest`,
    );
  }
  return { stamp, id: match[2] === undefined ? null : assertMessageId(match[2], field) };
}

/**
 * A message's place as a string that sorts as the places do (a fixed-width stamp, then the
 * id), for a merge of several topics' arrivals; a cursor becomes one too.
 */
export function arrivalKey(cursor: ArrivalCursor): string {
  return `${String(cursor.stamp).padStart(STAMP_DIGITS, '0')}-${cursor.id ?? AFTER_EVERY_ID}`;
}

/** The place an arrivalKey names. */
export function fromArrivalKey(key: string): ArrivalCursor {
  const id = key.slice(STAMP_DIGITS + 1);
  return { stamp: Number(key.slice(0, STAMP_DIGITS)), id: id === AFTER_EVERY_ID ? null : id };
}

/** Whether the message (`stamp`, `id`) comes after the cursor. */
export function isAfter(cursor: ArrivalCursor, stamp: number, id: string): boolean {
  return stamp > cursor.stamp || (stamp === cursor.stamp && cursor.id !== null && id > cursor.id);
}
