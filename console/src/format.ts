// Plain-text formatting helpers (everything the console shows is rendered as text).

/** "12 s ago", "5 min ago", "in 3 min"; "never" without a time. */
export function relativeTime(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((now - then) / 1000);
  const abs = Math.abs(seconds);
  let text: string;
  if (abs < 5) return 'just now';
  if (abs < 60) text = `${abs} s`;
  else if (abs < 3600) text = `${Math.floor(abs / 60)} min`;
  else if (abs < 86400) text = `${Math.floor(abs / 3600)} h`;
  else text = `${Math.floor(abs / 86400)} d`;
  return seconds >= 0 ? `${text} ago` : `in ${text}`;
}

/** A local date and time; the ISO string when it does not parse. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/**
 * The subject, or else the first 80 characters of the content, whitespace folded. `more`: the
 * content given is only the body's start (a `preview` whose `previewTruncated` is true): the
 * body goes on. Only the content's start is looked at, never a whole body of megabytes.
 */
export function preview(
  message: { subject?: string | null; content: string; more?: boolean },
  length = 80,
): string {
  if (message.subject) return message.subject;
  // Four times the length leaves room for runs of whitespace, which fold to one space.
  const start = message.content.slice(0, length * 4);
  const more = message.more === true || start.length < message.content.length;
  const text = start.replace(/\s+/g, ' ').trim();
  if (!text) return more ? '…' : '(empty)';
  if (text.length > length) return `${text.slice(0, length)}…`;
  return more ? `${text}…` : text;
}

/** Whether the code unit at `index` starts a surrogate pair (one character of 4 UTF-8 bytes). */
function pairAt(text: string, index: number): boolean {
  const code = text.charCodeAt(index);
  const next = text.charCodeAt(index + 1);
  return code >= 0xd800 && code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff;
}

/**
 * The UTF-8 bytes of the character at `index`: 4 for a surrogate pair (two code units), 3 for a
 * lone surrogate (sent as U+FFFD).
 */
function characterBytes(text: string, index: number): number {
  const code = text.charCodeAt(index);
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  return pairAt(text, index) ? 4 : 3;
}

/** How many bytes the text takes in UTF-8. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length;) {
    const size = characterBytes(text, index);
    bytes += size;
    index += size === 4 ? 2 : 1;
  }
  return bytes;
}

/**
 * The text's leading characters that fit in `bytes` bytes of UTF-8, never half a character:
 * the text itself when it fits. Looks at no more of it than it keeps.
 */
export function leadingBytes(text: string, bytes: number): string {
  // A UTF-16 code unit takes at most 3 bytes in UTF-8.
  if (text.length * 3 <= bytes) return text;
  let used = 0;
  let end = 0;
  while (end < text.length) {
    const size = characterBytes(text, end);
    if (used + size > bytes) break;
    used += size;
    end += size === 4 ? 2 : 1;
  }
  return text.slice(0, end);
}

/** "900 B", "256 KiB", "15.0 MiB". */
export function byteSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KiB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** "1 dead letter", "3 dead letters". */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Integers as they are, others with two decimals. */
export function number(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

export function rate(perSecond: number): string {
  return `${perSecond < 10 ? perSecond.toFixed(2) : perSecond.toFixed(1)}/s`;
}
