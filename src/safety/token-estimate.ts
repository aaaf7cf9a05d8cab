import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { ChunkCounts } from './chunk-counts';
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

/**
 * Counts of the pieces seen: at most 65,536 of them and 1 Mi characters (a few MB), pieces of
 * at most 4,096 characters.
 */
const pieces = new ChunkCounts(65_536, 1 << 20, 4_096);

function countPiece(piece: string): number {
  return o200k.countTokens(piece, AS_TEXT);
}

/**
 * The o200k count of `text`: the sum of its pieces' counts, as the package sums them, with
 * each piece's count remembered. Half the package's time and allocation: no iterator and no
 * match array per piece, and a piece seen before costs one lookup.
 */
function countTokens(text: string): number {
  let tokens = 0;
  let at = 0;
  while (at < text.length) {
    PIECE.lastIndex = at;
    // Every character starts a piece (the pattern's last branches take any space, letter,
    // digit or other run); should one not, the package counts the rest as it would.
    if (!PIECE.test(text)) return tokens + countPiece(text.slice(at));
    const end = PIECE.lastIndex;
    tokens += pieces.get(text.slice(at, end), countPiece);
    at = end;
  }
  return tokens;
}

/** Metadata keys a sender may use to report what its provider counted for this text. */
const USAGE_KEYS = ['output_tokens', 'completion_tokens', 'total_tokens'] as const;

/**
 * The tokens a message's body costs: what the sender's provider counted, when the sender
 * attached it (`metadata.usage.output_tokens`, `completion_tokens` or `total_tokens`, a
 * non-negative integer; the first found wins), else an offline o200k count of the content
 * (estimated from samples past EXACT_CHARS).
 */
export function estimateTokens(content: string, metadata: unknown): number {
  const usage =
    metadata !== null && typeof metadata === 'object'
      ? (metadata as { usage?: unknown }).usage
      : undefined;
  if (usage !== null && typeof usage === 'object') {
    for (const key of USAGE_KEYS) {
      const value = (usage as Record<string, unknown>)[key];
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
    }
  }
  if (content.length <= EXACT_CHARS) return content.length === 0 ? 0 : countTokens(content);
  const half = EXACT_CHARS / 2;
  const sampled = countTokens(content.slice(0, half)) + countTokens(content.slice(-half));
  return Math.round((sampled * content.length) / EXACT_CHARS);
}
