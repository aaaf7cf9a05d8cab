import { Buffer } from 'node:buffer';

/**
 * The size in bytes of a document over `limit`, or null when it is within it. Checked before
 * anything parses or hashes the text: a document is read a character at a time, so a long one
 * costs the event loop in proportion, and no operation needs one longer than a few kilobytes
 * when its values travel as variables.
 */
export function documentOverLimit(query: unknown, limit: number): number | null {
  if (typeof query !== 'string') return null;
  // A UTF-16 unit is at most three UTF-8 bytes: most documents are settled without counting.
  if (query.length * 3 <= limit) return null;
  if (query.length > limit) return Buffer.byteLength(query);
  const bytes = Buffer.byteLength(query);
  return bytes > limit ? bytes : null;
}

/** The refusal's words, the same over HTTP and WebSocket. */
export function documentTooLargeMessage(bytes: number, limit: number): string {
  return `query: the document is ${bytes} bytes; the limit is ${limit} bytes (pass large values as variables)`;
}
