import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import { readO200kRanks } from './o200k-ranks';

/**
 * Characters counted exactly; a longer body is estimated from its first and last halves of
 * this, scaled to its length. Counting megabytes would hold the event loop for a second (and
 * the tokenizer's pattern overflows the stack on some very long runs), for a figure that only
 * budgets read.
 */
export const EXACT_CHARS = 32 * 1024;

/** The o200k tokenizer, built once a process from the vocabulary `readO200kRanks` reads. */
const o200k = GptEncoding.getEncodingApi('o200k_base', () => readO200kRanks());

/**
 * Special tokens such as `<|endoftext|>` are counted as the text they are, as a provider
 * counts them in a prompt's text; by default the package refuses text that holds one, which
 * refused every message that mentioned one.
 */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

function countTokens(text: string): number {
  return o200k.countTokens(text, AS_TEXT);
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
