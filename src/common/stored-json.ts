import { exceedsJsonDepth, mayExceedJsonDepth, RENDERABLE_JSON_DEPTH } from './json-depth';

/**
 * A stored JSON value that cannot be returned: not valid JSON, or nested deeper than any
 * response can carry (written by an older version, or straight into Redis). It stands in for
 * the value so that the one field answers with an error (the JSON scalar's serialize) while
 * the rest of its message, page or feed renders; it keeps the stored text, so a message
 * written again (a retried push) carries exactly what was stored.
 */
export class UnreadableJson {
  constructor(
    /** The stored text, as it was read. */
    readonly text: string,
    /** What is wrong with it, to complete "the stored value ...". */
    readonly problem: string,
    /** The depth it broke, when that is the problem. */
    readonly limit?: number,
  ) {}
}

/** Parses stored JSON text; an UnreadableJson when it cannot be parsed or rendered. */
export function readStoredJson(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch {
    return new UnreadableJson(text, 'is not valid JSON');
  }
  // JSON.parse does not recurse, so the deep value was built; only rendering it would fail.
  if (
    mayExceedJsonDepth(text, RENDERABLE_JSON_DEPTH) &&
    exceedsJsonDepth(value, RENDERABLE_JSON_DEPTH)
  ) {
    return new UnreadableJson(
      text,
      `nests deeper than ${RENDERABLE_JSON_DEPTH} levels`,
      RENDERABLE_JSON_DEPTH,
    );
  }
  return value;
}
