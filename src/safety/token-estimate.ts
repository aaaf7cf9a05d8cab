import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { ChunkCounts } from './chunk-counts';
import { asciiPieceEnd } from './o200k-pieces';
import { readO200kRanks } from './o200k-ranks';

/**
 * Characters counted exactly; a longer body is estimated from its first and last halves of
 * this, scaled to its length. Counting megabytes would hold the event loop for a second (and
 * the tokenizer's pattern overflows the stack on some very long runs), for a figure that only
 * budgets read.
 */
export const EXACT_CHARS = 32 * 1024;

/**
 * The o200k tokenizer, built once a process from the vocabulary `readO200kRanks` reads. Its
 * own cache of merges is off: `pieces` remembers whole counts instead.
 */
const o200k = GptEncoding.getEncodingApi('o200k_base', () => readO200kRanks());
o200k.setMergeCacheSize(0);

/**
 * Special tokens such as `<|endoftext|>` are counted as the text they are, as a provider
 * counts them in a prompt's text; by default the package refuses text that holds one.
 */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

/** o200k's pre-tokenizing pattern, sticky: each piece is matched where the last one ended. */
const PIECE = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, 'uy');

/** A character past U+00FF: V8 then holds the whole string in two bytes a character. */
const TWO_BYTE = /[^\0-\xff]/;

/**
 * The longest piece whose merges are computed whole. A byte-pair merge takes time that grows
 * with the square of its piece's length (4,096 letters with no break: 20 to 45 ms; 16,384:
 * over 100 ms), and no o200k token is half as long, so a longer piece (a run of letters, of
 * punctuation or of spaces with no break) is counted in slices of this
 * (`pieceSlices`): each slice's count is exact, and the sum may differ from the whole
 * piece's by a few tokens where a merge would have crossed a slice's edge.
 */
export const LONGEST_PIECE = 128;

/**
 * Counts of the pieces seen: at most 65,536 of them and 1 Mi characters (a few MB), each of at
 * most LONGEST_PIECE characters.
 */
const pieces = new ChunkCounts(65_536, 1 << 20, LONGEST_PIECE);

function countPiece(piece: string): number {
  return o200k.countTokens(piece, AS_TEXT);
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/**
 * Where the slices of a piece end: every `longest` characters, one sooner where that would
 * part a surrogate pair, so that no slice holds half of a character.
 */
export function pieceSlices(piece: string, longest: number = LONGEST_PIECE): number[] {
  const ends: number[] = [];
  let at = 0;
  while (at < piece.length) {
    let end = Math.min(at + longest, piece.length);
    if (end < piece.length && end - at > 1 && isLowSurrogate(piece.charCodeAt(end))) end -= 1;
    ends.push(end);
    at = end;
  }
  return ends;
}

/** A piece's count: remembered, and from its slices when it is longer than LONGEST_PIECE. */
function countSlices(piece: string): number {
  if (piece.length <= LONGEST_PIECE) return pieces.get(piece, countPiece);
  let tokens = 0;
  let at = 0;
  for (const end of pieceSlices(piece)) {
    tokens += pieces.get(piece.slice(at, end), countPiece);
    at = end;
  }
  return tokens;
}

/**
 * The o200k count of `text`: the sum of its pieces' counts, as the package sums them, with
 * each piece's count remembered. Pieces are found by the pattern, whose compiled code is
 * fastest on text that V8 holds in one byte a character. One character past U+00FF (a
 * typographic apostrophe or dash, common in a model's prose) makes V8 hold the whole text in
 * two bytes a character, where the pattern runs about three times slower; in such a text
 * `asciiPieceEnd` finds the pieces of ASCII characters, and the pattern only the rest. No
 * iterator and no match array per piece, and a piece seen before costs one lookup. The
 * package's own count for any text whose pieces are at most LONGEST_PIECE long.
 */
function countTokens(text: string): number {
  const twoByte = TWO_BYTE.test(text);
  let tokens = 0;
  let at = 0;
  while (at < text.length) {
    let end = twoByte ? asciiPieceEnd(text, at) : -1;
    if (end < 0) {
      PIECE.lastIndex = at;
      // Every character starts a piece (the pattern's last branches take any space, letter,
      // digit or other run); should one not, the rest is counted as one piece.
      if (!PIECE.test(text)) return tokens + countSlices(text.slice(at));
      end = PIECE.lastIndex;
    }
    tokens += countSlices(text.slice(at, end));
    at = end;
  }
  return tokens;
}

/** Metadata keys a sender may use to report what its provider counted for this text. */
const USAGE_KEYS = ['output_tokens', 'completion_tokens', 'total_tokens'] as const;

/**
 * The most tokens a sender may report for one message: above any model's context, and small
 * enough that the sums the guards keep in Redis (a day's tokens, a thread's spent) cannot
 * overflow, nor a message's `tokenEstimate` leave GraphQL's Int.
 */
export const MAX_REPORTED_TOKENS = 10_000_000;

/**
 * The tokens a message's body costs: an offline o200k count of the content (estimated from
 * samples past EXACT_CHARS), or what the sender's provider counted when the sender attached
 * more (`metadata.usage.output_tokens`, `completion_tokens` or `total_tokens`, a non-negative
 * integer; the first found wins). A report may raise the count, say by a model's reasoning
 * tokens, never lower it: a sender cannot pass the budgets by reporting 0.
 */
export function estimateTokens(content: string, metadata: unknown): number {
  const counted = countContent(content);
  const reported = reportedUsage(metadata)?.tokens ?? null;
  // Sends above the ceiling are refused (message-validation.ts); a message stored before
  // that check reads as the ceiling.
  return reported === null ? counted : Math.max(counted, Math.min(reported, MAX_REPORTED_TOKENS));
}

function countContent(content: string): number {
  if (content.length <= EXACT_CHARS) return content.length === 0 ? 0 : countTokens(content);
  const half = EXACT_CHARS / 2;
  const sampled = countTokens(content.slice(0, half)) + countTokens(content.slice(-half));
  return Math.round((sampled * content.length) / EXACT_CHARS);
}

/** The provider's count the sender attached in `metadata.usage`, if any, and its key. */
export function reportedUsage(metadata: unknown): { key: string; tokens: number } | null {
  const usage =
    metadata !== null && typeof metadata === 'object'
      ? (metadata as { usage?: unknown }).usage
      : undefined;
  if (usage === null || typeof usage !== 'object') return null;
  for (const key of USAGE_KEYS) {
    const value = (usage as Record<string, unknown>)[key];
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
      return { key, tokens: value };
    }
  }
  return null;
}
