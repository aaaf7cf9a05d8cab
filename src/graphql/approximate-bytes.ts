import { MemoSlot } from '../common/memo-slot';

/** What a number, boolean, null or the like is counted as: a field's worth of JSON. */
const SCALAR_BYTES = 8;
/** A Date goes out as an ISO string: `"2024-01-01T00:00:00.000Z"`. */
const DATE_BYTES = 26;
/** Nesting beyond this is counted as a scalar: JSON input is far shallower (ROUTER_MAX_JSON_DEPTH). */
const MAX_DEPTH = 64;

/**
 * The size of a value measured before, kept on it. A live message is one object pushed to
 * every feed that receives it, so a broadcast to many subscribers walks it once. Sound because
 * what is pushed to a feed is never changed afterwards. Only the value asked about keeps its
 * size, not the objects inside it.
 */
const measured = new MemoSlot<number>('approximate bytes');

/**
 * About how many bytes `value` takes once it is sent as JSON: the characters of its strings
 * and keys, and a little for every other field. Never less than its text: UTF-8 and JSON
 * escaping only add. Costs one step per field, not per byte (a string's length is known), so
 * that bounding a buffer by bytes is as cheap as bounding it by count.
 */
export function approximateBytes(value: unknown, depth = 0): number {
  if (typeof value === 'string') return value.length;
  if (typeof value !== 'object' || value === null || depth >= MAX_DEPTH) return SCALAR_BYTES;
  if (value instanceof Date) return DATE_BYTES;
  const known = depth === 0 ? measured.get(value) : undefined;
  if (known !== undefined) return known;
  let bytes = SCALAR_BYTES;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) bytes += approximateBytes(item, depth + 1);
  } else {
    for (const [key, field] of Object.entries(value)) {
      bytes += key.length + approximateBytes(field, depth + 1);
    }
  }
  if (depth === 0) measured.set(value, bytes);
  return bytes;
}
