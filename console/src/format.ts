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
 * The subject, or else the first 80 characters of the content. `more`: the content given is
 * only the body's start (a `preview` whose `previewTruncated` is true): the body goes on.
 */
export function preview(
  message: { subject?: string | null; content: string; more?: boolean },
  length = 80,
): string {
  if (message.subject) return message.subject;
  const text = message.content.replace(/\s+/g, ' ').trim();
  if (!text) return message.more ? '…' : '(empty)';
  if (text.length > length) return `${text.slice(0, length)}…`;
  return message.more ? `${text}…` : text;
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
