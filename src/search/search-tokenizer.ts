/**
 * How text becomes search terms, for messages and queries alike: the same function on both
 * sides, so that whatever a query asks for is spelled as the index spells it. Pure, no Nest
 * and no Redis (docs/concepts/search.md describes the rules for users).
 */

/** Terms shorter than this (in characters) are not indexed: single letters match everything. */
export const MIN_TERM_LENGTH = 2;
/**
 * Longer terms (in UTF-16 code units) are not indexed: such runs are digests, base64 and other
 * blobs, and each one would be an index key of its own.
 */
export const MAX_TERM_LENGTH = 64;
/** Distinct terms indexed per message, subject first; what is beyond is not searchable. */
export const MAX_TERMS_PER_MESSAGE = 256;
/**
 * Characters (UTF-16 code units) of `content` read for terms. A larger content is indexed by
 * its beginning: the terms cap is reached long before, and normalising megabytes on the
 * send path would cost more than the send.
 */
export const MAX_INDEXED_CHARACTERS = 64 * 1024;

/**
 * Words too common to narrow a search, dropped from messages and queries. Deliberately tiny:
 * every word here is one a user cannot search for.
 */
export const STOP_WORDS: ReadonlySet<string> = new Set([
  'an',
  'and',
  'are',
  'as',
  'at',
  'be',
  'by',
  'for',
  'from',
  'in',
  'is',
  'it',
  'of',
  'on',
  'or',
  'that',
  'the',
  'this',
  'to',
  'was',
  'with',
]);

/**
 * A word: a letter or digit, then letters, digits and combining marks. Marks belong to the
 * word they follow (Devanagari vowel signs, decomposed accents that NFKC could not compose);
 * everything else separates words.
 */
const WORD = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;

/** At least MIN_TERM_LENGTH (2) characters, counted in code points. */
function longEnough(term: string): boolean {
  if (term.length >= MIN_TERM_LENGTH * 2) return true;
  // Two code units may be one code point (a surrogate pair), which counts as one character.
  return (term.codePointAt(0) ?? 0) > 0xffff ? term.length > 2 : term.length >= MIN_TERM_LENGTH;
}

/**
 * A word as a term: lower-cased. A capital dotted I ("İ", as in "İzmir") lower-cases to "i"
 * and a combining dot above, which no query typed as "izmir", "Izmir" or "IZMIR" would meet:
 * the dot is dropped, as a dotless lower-case letter is all those queries have.
 */
function termOf(word: string): string {
  const term = word.toLowerCase();
  return term.includes('\u0307') ? term.replace(/i\u0307/g, 'i') : term;
}

/** What every term must be; false for terms that are dropped. */
function indexable(term: string): boolean {
  return term.length <= MAX_TERM_LENGTH && longEnough(term) && !STOP_WORDS.has(term);
}

/**
 * Adds the distinct terms of `text` to `terms`, in order of first appearance, until `terms`
 * holds `limit`. Text is NFKC-normalised (so that composed and decomposed accents, or full-width
 * and ASCII letters, are one term) and lower-cased per word.
 */
function collectTerms(text: string, terms: Set<string>, limit: number): void {
  if (terms.size >= limit || text.length === 0) return;
  for (const match of text.normalize('NFKC').matchAll(WORD)) {
    const term = termOf(match[0]);
    if (!indexable(term)) continue;
    terms.add(term);
    if (terms.size >= limit) return;
  }
}

/** `text` cut to `characters`, without the word the cut went through (it would be a fragment). */
function beginning(text: string, characters: number): string {
  if (text.length <= characters) return text;
  const cut = text.slice(0, characters + 1);
  const lastBreak = cut.search(/[^\p{L}\p{N}\p{M}][\p{L}\p{N}\p{M}]*$/u);
  return lastBreak < 0 ? '' : cut.slice(0, lastBreak);
}

/** The distinct terms of a text, in order of first appearance. */
export function tokenize(text: string, limit = Number.POSITIVE_INFINITY): string[] {
  const terms = new Set<string>();
  collectTerms(text, terms, limit);
  return [...terms];
}

/**
 * The terms a message is indexed under: those of its subject, then those of the beginning of
 * its content (MAX_INDEXED_CHARACTERS), at most MAX_TERMS_PER_MESSAGE distinct ones.
 */
export function messageTerms(subject: string | null, content: string): string[] {
  const terms = new Set<string>();
  if (subject !== null) collectTerms(subject, terms, MAX_TERMS_PER_MESSAGE);
  collectTerms(beginning(content, MAX_INDEXED_CHARACTERS), terms, MAX_TERMS_PER_MESSAGE);
  return [...terms];
}

/** A query's words before the limits are applied: what it asks for, and what it drops. */
export interface QueryWords {
  /** Distinct searchable terms, in the order written. */
  terms: string[];
  /** Words longer than MAX_TERM_LENGTH, which no index holds. */
  tooLong: string[];
}

/** Splits a query like a message, keeping apart the words too long to be in any index. */
export function queryWords(query: string): QueryWords {
  const terms = new Set<string>();
  const tooLong: string[] = [];
  for (const match of query.normalize('NFKC').matchAll(WORD)) {
    const term = termOf(match[0]);
    if (term.length > MAX_TERM_LENGTH) tooLong.push(term);
    else if (indexable(term)) terms.add(term);
  }
  return { terms: [...terms], tooLong };
}
