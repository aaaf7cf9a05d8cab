import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';

/** Metadata keys a sender may use to report what its provider counted for this text. */
const USAGE_KEYS = ['output_tokens', 'completion_tokens', 'total_tokens'] as const;

/**
 * The tokens a message's body costs: what the sender's provider counted, when the sender
 * attached it (`metadata.usage.output_tokens`, `completion_tokens` or `total_tokens`, a
 * non-negative integer; the first found wins), else an offline o200k estimate of the content.
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
  return content.length === 0 ? 0 : countTokens(content);
}
