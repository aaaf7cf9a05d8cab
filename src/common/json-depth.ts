/**
 * The deepest JSON value the service ever hands to JSON.stringify or a GraphQL response: the
 * highest ROUTER_MAX_JSON_DEPTH allows (src/config/environment.ts), so a value accepted under
 * any setting still renders after the setting is lowered. V8's JSON.stringify recurses and
 * runs out of stack a few thousand levels down, so anything deeper must never reach it.
 */
export const RENDERABLE_JSON_DEPTH = 1000;

/**
 * Whether `value` nests objects and arrays more than `limit` deep: `{}` and `[]` are depth 1,
 * `{"a": []}` depth 2, and a string, number, boolean or null depth 0.
 *
 * Iterative, with its own stack: the values it guards are exactly those deep enough to
 * overflow the call stack of a recursive walk. It visits each container once and never
 * descends past `limit`, so a deep value costs no more than its first `limit` levels.
 */
export function exceedsJsonDepth(value: unknown, limit: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit < 1) return true;
  const containers: object[] = [value];
  const depths: number[] = [1];
  while (containers.length > 0) {
    const container = containers.pop() as object;
    const depth = depths.pop() as number;
    const children: unknown[] = Array.isArray(container) ? container : Object.values(container);
    for (const child of children) {
      if (typeof child !== 'object' || child === null) continue;
      if (depth === limit) return true;
      containers.push(child);
      depths.push(depth + 1);
    }
  }
  return false;
}

/**
 * Whether JSON text of this length could nest more than `limit` deep: each level takes an
 * opening and a closing bracket, so shorter text cannot, and need not be walked.
 */
export function mayExceedJsonDepth(text: string, limit: number): boolean {
  return text.length >= 2 * (limit + 1);
}
