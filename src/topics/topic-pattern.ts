/**
 * Matches topics against AMQP topic-exchange patterns: `*` stands for exactly one segment,
 * `#` for zero or more. Patterns are compiled once per subscription; matching is done here,
 * never by Redis, so no user text ever becomes a glob.
 */
export type TopicMatcher = (topic: string) => boolean;

export function compileTopicPattern(pattern: string): TopicMatcher {
  const parts = pattern.split('.');
  if (!parts.includes('*') && !parts.includes('#')) {
    return (topic) => topic === pattern;
  }
  return (topic) => matchSegments(parts, 0, topic.split('.'), 0, new Map());
}

function matchSegments(
  pattern: string[],
  p: number,
  topic: string[],
  t: number,
  memo: Map<number, boolean>,
): boolean {
  const key = p * (topic.length + 1) + t;
  const known = memo.get(key);
  if (known !== undefined) return known;
  let result: boolean;
  if (p === pattern.length) {
    result = t === topic.length;
  } else if (pattern[p] === '#') {
    // Zero segments, or swallow one and stay on the `#`.
    result =
      matchSegments(pattern, p + 1, topic, t, memo) ||
      (t < topic.length && matchSegments(pattern, p, topic, t + 1, memo));
  } else if (t === topic.length) {
    result = false;
  } else {
    result =
      (pattern[p] === '*' || pattern[p] === topic[t]) &&
      matchSegments(pattern, p + 1, topic, t + 1, memo);
  }
  memo.set(key, result);
  return result;
}

/**
 * The segments a pattern fixes before its first wildcard, joined: every topic it matches
 * starts with this text (`agents.*.status` -> `agents`), so a listing by name can start there
 * instead of at the first topic. Empty when the pattern starts with a wildcard.
 */
export function literalPrefix(pattern: string): string {
  const fixed: string[] = [];
  for (const segment of pattern.split('.')) {
    if (segment === '*' || segment === '#') break;
    fixed.push(segment);
  }
  return fixed.join('.');
}
