/**
 * The bodies every scenario sends, the service's and the peers' alike: a head that names the
 * message (the checks and the latency probes read it), then filler up to the size asked for.
 *
 * By default the filler is one letter, repeated: a broker only carries a body, and it is the
 * cheapest text for the service's own work on one (the o200k token count). BENCH_BODIES=prose
 * fills it instead with English words in an order drawn from the head, after a typographic
 * apostrophe and dash as a model writes them: text the count walks piece by piece, which V8
 * holds in two bytes a character. The head stays ASCII, so the checks read it either way.
 */

export type BodyKind = 'filler' | 'prose';

const KINDS: readonly BodyKind[] = ['filler', 'prose'];

/** BENCH_BODIES, `filler` when unset; anything else stops the run. */
export function bodyKind(): BodyKind {
  const value = process.env.BENCH_BODIES ?? 'filler';
  if (!(KINDS as readonly string[]).includes(value)) {
    throw new Error(`BENCH_BODIES=${value}: expected ${KINDS.join(' or ')}`);
  }
  return value as BodyKind;
}

const WORDS = (
  'thanks for the draft I read the summary and the three open questions at the end the ' +
  'first one is settled the nightly export can move to the new bucket once the retention ' +
  'policy is in place and I will ask the storage team to confirm the date for the second I ' +
  'would rather not retry failed uploads more than twice if the upstream service is down ' +
  'for longer we should stop report the error and let the operator decide.'
).split(' ');

/** Words after "Here’s the plan — ", in an order drawn from `head` (xorshift32). */
function prose(head: string, length: number): string {
  let seed = 2166136261;
  for (let i = 0; i < head.length; i++) seed = Math.imul(seed ^ head.charCodeAt(i), 16777619);
  seed = seed >>> 0 || 1;
  let text = head + 'Here\u2019s the plan \u2014 ';
  while (text.length < length) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    text += WORDS[(seed >>> 0) % WORDS.length] + ' ';
  }
  return text.slice(0, length);
}

let kind: BodyKind | undefined;

/**
 * `head` followed by filler, `chars` characters long in all: bytes too for the default
 * filler; prose holds two characters of three bytes each in UTF-8.
 */
export function padded(head: string, chars: number): string {
  if (head.length >= chars) return head;
  kind ??= bodyKind();
  return kind === 'prose' ? prose(head, chars) : head + 'x'.repeat(chars - head.length);
}
