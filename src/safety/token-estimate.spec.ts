import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import { readO200kRanks } from './o200k-ranks';
import { EXACT_CHARS, estimateTokens } from './token-estimate';

describe(estimateTokens.name, () => {
  it('counts o200k tokens of the content', () => {
    expect(estimateTokens('', null)).toBe(0);
    expect(estimateTokens('hello world', null)).toBe(2);
    const long = 'Summarise the quarterly report and list three risks. '.repeat(20);
    expect(estimateTokens(long, null)).toBeGreaterThan(150);
    expect(estimateTokens(long, null)).toBeLessThan(long.length / 2);
  });

  it("takes the provider's own count from metadata.usage when the sender gives one", () => {
    expect(estimateTokens('hello world', { usage: { output_tokens: 42 } })).toBe(42);
    expect(
      estimateTokens('hello world', { usage: { completion_tokens: 7, total_tokens: 9 } }),
    ).toBe(7);
    expect(estimateTokens('hello world', { usage: { total_tokens: 0 } })).toBe(0);
  });

  it('ignores a usage that is not a non-negative integer', () => {
    for (const usage of [
      { output_tokens: -1 },
      { output_tokens: 1.5 },
      { output_tokens: '9' },
      'x',
      null,
    ]) {
      expect(estimateTokens('hello world', { usage })).toBe(2);
    }
  });

  it('estimates a long body from samples, within a tenth of the exact count', () => {
    const paragraph = 'The quick brown fox jumps over the lazy dog, twice. ';
    const long = paragraph.repeat(Math.ceil((15 * 1024 * 1024) / paragraph.length));
    const estimate = estimateTokens(long, null);
    const exactPerParagraph = estimateTokens(paragraph, null);
    const exact = (long.length / paragraph.length) * exactPerParagraph;
    expect(Math.abs(estimate - exact) / exact).toBeLessThan(0.1);
    // A run with no spaces, which the tokenizer's pattern once overflowed the stack on.
    expect(estimateTokens('x'.repeat(EXACT_CHARS * 8), null)).toBeGreaterThan(0);
  });
});

describe('the o200k count', () => {
  it('counts a special token as text rather than refusing the message', () => {
    const reference = GptEncoding.getEncodingApi('o200k_base', () => readO200kRanks());
    const text = 'a prompt ends with <|endoftext|>';
    expect(() => reference.countTokens(text)).toThrow(/special token/);
    expect(estimateTokens(text, null)).toBe(
      reference.countTokens(text, { disallowedSpecial: new Set() }),
    );
  });
});
