/**
 * A stand-in for a unit test that throws on any member it was not given, instead of returning
 * undefined: a test that reaches a dependency it did not mean to fails at that call.
 */
export function strict<T>(members: Partial<T>): T {
  return new Proxy(members, {
    get(target, property) {
      if (property in target) return (target as Record<string | symbol, unknown>)[property];
      throw new Error(`unstubbed member ${String(property)}`);
    },
  }) as T;
}
