/**
 * Where o200k's pre-tokenizing pattern ends a piece, found without the pattern for text in
 * the ASCII range. The pattern (O200K_TOKEN_SPLIT_REGEX, its branches tried in order):
 *
 *   1. [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+ contraction?
 *   2. [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]* contraction?
 *   3. \p{N}{1,3}
 *   4. ' '?[^\s\p{L}\p{N}]+[\r\n/]*
 *   5. \s*[\r\n]+
 *   6. \s+(?!\S)
 *   7. \s+
 *
 * where a contraction is 's, 'd, 'm, 't, 'll, 've or 're in either case. In ASCII, letters are
 * A-Z (upper) and a-z (lower), numbers 0-9, white space tab, line feed, vertical tab, form
 * feed, carriage return and space, and every other character (punctuation, symbols, controls)
 * is "other". What each branch takes there:
 *
 * - 1 and 2: an optional first character that is white space other than a line break, or
 *   other, then capitals, then lower-case letters, at least one letter in all, then a
 *   contraction. Upper- and lower-case letters are distinct in ASCII, so the two branches
 *   take the same piece: 1 where lower-case letters follow the capitals, 2 where none do.
 * - 3: up to three digits.
 * - 4: an optional space, a run of other characters, then any line breaks and slashes.
 * - 5 to 7, a run of white space: through its last line break when it holds one (5); else
 *   all of it when it ends the text, all but its last character when it is longer than one
 *   (6, the lookahead), or the single character (7).
 *
 * The pattern reads a character or two past most pieces, to see that the piece stops there.
 * When any character it would read to end the piece at `at` is outside ASCII (a letter such as
 * "é" would continue a word; "\u00a0" is white space), `asciiPieceEnd` answers -1 and the
 * caller matches that piece with the pattern itself. Its tests compare both on random text.
 */

// What the pattern tells apart in ASCII, by character code.
const UPPER = 0;
const LOWER = 1;
const DIGIT = 2;
const WHITE_SPACE = 3;
const LINE_BREAK = 4;
const OTHER = 5;

const SPACE = 0x20;
const APOSTROPHE = 0x27;
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SLASH = 0x2f;

const ASCII_KINDS = Uint8Array.from({ length: 128 }, (_, code) => {
  if (isUpper(code)) return UPPER;
  if (isLower(code)) return LOWER;
  if (isDigit(code)) return DIGIT;
  if (code === LINE_FEED || code === CARRIAGE_RETURN) return LINE_BREAK;
  // Tab, vertical tab, form feed and space.
  if (code === 0x09 || code === 0x0b || code === 0x0c || code === SPACE) return WHITE_SPACE;
  return OTHER;
});

function isUpper(code: number): boolean {
  return code >= 0x41 && code <= 0x5a;
}

function isLower(code: number): boolean {
  return code >= 0x61 && code <= 0x7a;
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** Past the end of the text, where `codeAt` answers; no kind of character matches it. */
const PAST_END = -1;

/**
 * The code at `at`, or PAST_END. Past the end `charCodeAt` gives NaN, a double where every
 * other code is a small integer, and V8 compiles the callers for both.
 */
function codeAt(text: string, at: number): number {
  return at < text.length ? text.charCodeAt(at) : PAST_END;
}

/** Past the contraction that the apostrophe at `at` starts, or `at` if it starts none. */
function afterContraction(text: string, at: number): number {
  // Lower-cased; PAST_END stays negative and matches nothing.
  const first = codeAt(text, at + 1) | 0x20;
  if (first === 0x73 || first === 0x64 || first === 0x6d || first === 0x74) return at + 2; // s d m t
  const second = codeAt(text, at + 2) | 0x20;
  if (first === 0x6c && second === 0x6c) return at + 3; // ll
  if ((first === 0x76 || first === 0x72) && second === 0x65) return at + 3; // ve re
  return at;
}

/** Branch 3 from `start`, a digit: up to three (a number past ASCII, such as "٣", counts too). */
function digitsEnd(text: string, start: number): number {
  const last = Math.min(start + 3, text.length);
  let at = start + 1;
  for (; at < last; at++) {
    const code = text.charCodeAt(at);
    if (code >= 0x80) return -1;
    if (!isDigit(code)) break;
  }
  return at;
}

/** Branch 4 from `start`, an other character: the run of them, then line breaks and slashes. */
function symbolsEnd(text: string, start: number): number {
  const length = text.length;
  let at = start + 1;
  for (; at < length; at++) {
    const code = text.charCodeAt(at);
    if (code >= 0x80) return -1;
    if (ASCII_KINDS[code] !== OTHER) break;
  }
  for (;;) {
    const code = codeAt(text, at);
    if (code !== LINE_FEED && code !== CARRIAGE_RETURN && code !== SLASH) return at;
    at++;
  }
}

/** Branches 5 to 7 from `start`, white space. */
function spaceEnd(text: string, start: number): number {
  const length = text.length;
  let at = start;
  let lastBreak = -1;
  for (; at < length; at++) {
    const code = text.charCodeAt(at);
    if (code >= 0x80) return -1;
    const kind = ASCII_KINDS[code];
    if (kind === LINE_BREAK) lastBreak = at;
    else if (kind !== WHITE_SPACE) break;
  }
  if (lastBreak >= 0) return lastBreak + 1;
  if (at === length || at - start === 1) return at;
  return at - 1;
}

/**
 * The end of the o200k piece that starts at `at` (a valid index of `text`), or -1 when it
 * depends on a character outside ASCII. Words, most of the pieces of prose, are scanned here
 * rather than in a function of their own: in about one process in five V8 did not inline
 * that function into the caller's loop, and the count of two-byte prose took up to twice as
 * long there.
 */
export function asciiPieceEnd(text: string, at: number): number {
  const code = text.charCodeAt(at);
  if (code >= 0x80) return -1;
  const kind = ASCII_KINDS[code];
  if (kind === DIGIT) return digitsEnd(text, at);
  if (kind === LINE_BREAK) return spaceEnd(text, at);
  let letters = at;
  if (kind === WHITE_SPACE || kind === OTHER) {
    // Either may lead a word (branches 1 and 2), and an other character or a space may lead a
    // run of other characters (4).
    const next = codeAt(text, at + 1);
    if (next >= 0x80) return -1;
    if (!isUpper(next) && !isLower(next)) {
      if (kind === OTHER) return symbolsEnd(text, at);
      if (code === SPACE && next !== PAST_END && ASCII_KINDS[next] === OTHER) {
        return symbolsEnd(text, at + 1);
      }
      return spaceEnd(text, at);
    }
    letters = at + 1;
  }
  // Branches 1 and 2 from a letter: capitals, lower-case letters, a contraction.
  const length = text.length;
  let end = letters;
  while (end < length && isUpper(text.charCodeAt(end))) end++;
  while (end < length && isLower(text.charCodeAt(end))) end++;
  const after = codeAt(text, end);
  if (after >= 0x80) return -1;
  return after === APOSTROPHE ? afterContraction(text, end) : end;
}
