/**
 * Lookups through an object whose prototype is String.prototype: enough of them for V8 to
 * have given the function that makes them the feedback a lookup needs (it does so only after
 * a few calls), and then to have acted on it.
 */
const LOOKUPS = 1_000;

function methodOf(value: { charCodeAt: unknown }): unknown {
  return value.charCodeAt;
}

/**
 * Lets V8 compile the methods of strings (`charCodeAt`, `slice`, `startsWith` ...) into the
 * code that calls them again, after ioredis has stopped it.
 *
 * ioredis declares `class VerbatimString extends String` (its RESP3 replies). Making an
 * object the prototype of another one makes V8 keep that object's properties in a
 * dictionary, as it expects more changes, until a property lookup through an object that
 * inherits from it makes them fast again. A string's own lookups never do, and the service
 * never receives a verbatim string, so String.prototype stayed a dictionary for the life of
 * the process. Optimized code then calls each method of a string as an ordinary function
 * found in that dictionary, instead of inlining it: a loop over `charCodeAt` ran about four
 * times slower, and the o200k count of a text held in two bytes a character about twice as
 * slow as in a process without ioredis (see docs/performance-log.md).
 *
 * LOOKUPS lookups through an object that inherits from String.prototype make it fast again,
 * and V8 then keeps it fast when other classes extend String. The prototype itself is not
 * changed.
 */
export function restoreFastStringMethods(): void {
  const inheritor = Object.create(String.prototype) as { charCodeAt: unknown };
  for (let lookup = 0; lookup < LOOKUPS; lookup++) methodOf(inheritor);
}
