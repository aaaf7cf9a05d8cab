import fc from 'fast-check';
import { GptEncoding } from 'gpt-tokenizer/GptEncoding';
import { readO200kRanks } from './o200k-ranks';
import {
  EXACT_CHARS,
  LONGEST_PIECE,
  MAX_REPORTED_TOKENS,
  estimateTokens,
  pieceSlices,
} from './token-estimate';

describe(estimateTokens.name, () => {
  it('counts o200k tokens of the content', () => {
    expect(estimateTokens('', null)).toBe(0);
    expect(estimateTokens('hello world', null)).toBe(2);
    const long = 'Summarise the quarterly report and list three risks. '.repeat(20);
    expect(estimateTokens(long, null)).toBeGreaterThan(150);
    expect(estimateTokens(long, null)).toBeLessThan(long.length / 2);
  });

  it("takes the provider's own count from metadata.usage when the sender gives more", () => {
    expect(estimateTokens('hello world', { usage: { output_tokens: 42 } })).toBe(42);
    expect(
      estimateTokens('hello world', { usage: { completion_tokens: 7, total_tokens: 9 } }),
    ).toBe(7);
  });

  it('reads a report past the ceiling as the ceiling', () => {
    expect(estimateTokens('hello', { usage: { total_tokens: MAX_REPORTED_TOKENS * 300 } })).toBe(
      MAX_REPORTED_TOKENS,
    );
  });

  it('never counts less than the content, whatever the sender reports', () => {
    expect(estimateTokens('hello world', { usage: { total_tokens: 0 } })).toBe(2);
    expect(estimateTokens('hello world', { usage: { output_tokens: 1 } })).toBe(2);
    const long = 'word '.repeat(EXACT_CHARS);
    expect(estimateTokens(long, { usage: { output_tokens: 0 } })).toBe(estimateTokens(long, null));
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
  const reference = GptEncoding.getEncodingApi('o200k_base', () => readO200kRanks());
  const asText = { disallowedSpecial: new Set<string>() };

  const samples: Record<string, string> = {
    prose:
      "The planner wrote: \"I'd rather we wait until Monday.\" The reviewer's reply wasn't long; " +
      "WE'LL SEE, it said, and THEY'RE right.",
    code: 'function f(a, b) {\n  return a.map((x) => x * b).filter(Boolean);\n}\r\n\r\n',
    numbers: '1 12 123 1234 12345 3.14159 1,000,000 0x1F 2026-12-06T02:00:00Z',
    spaces: 'a  b   c\t\td \n\n  e\r\n f   \n   ',
    'non-Latin': '日本語のテキストと中文文本，还有한국어 텍스트。Ελληνικά и русский текст',
    emoji: 'ok 👍🏽 done ✅ — naïve café 👨‍👩‍👧',
    'lone surrogates': 'a\ud800b \udc00 c\ud83d',
    'special tokens': 'the model emits <|endoftext|> then <|endofprompt|> and <|fim_prefix|>',
    'pieces of the longest length counted whole': `${'x'.repeat(LONGEST_PIECE)}\n${'=+'.repeat(LONGEST_PIECE / 2)}`,
  };

  it.each(Object.entries(samples))("equals the package's count: %s", (_name, text) => {
    expect(estimateTokens(text, null)).toBe(reference.countTokens(text, asText));
  });

  it("equals the package's count on random text, counted twice", () => {
    const alphabet = [
      ...'aAbBzZ09 \t\n\r.,;:!?\'"-_/\\()[]{}<>|@#$%^&*+=~`',
      ...['é', 'ß', 'İ', 'ǅ', 'ʰ', '\u0301', '中', '한', '٣', '\u00a0', '\u2028', '😀', '\ud800'],
    ];
    const texts = fc
      .array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 60 })
      .map((characters) => characters.join(''));
    fc.assert(
      fc.property(texts, (text) => {
        const expected = reference.countTokens(text, asText);
        expect(estimateTokens(text, null)).toBe(expected);
        // The second time from remembered pieces.
        expect(estimateTokens(text, null)).toBe(expected);
      }),
      { seed: 42, numRuns: 2_000 },
    );
  });

  it('counts a special token as text rather than refusing the message', () => {
    const text = 'a prompt ends with <|endoftext|>';
    expect(() => reference.countTokens(text)).toThrow(/special token/);
    expect(estimateTokens(text, null)).toBe(reference.countTokens(text, asText));
  });

  it('counts a longer piece in slices, within a few tokens of its whole merge', () => {
    const [letters] = fc.sample(fc.stringMatching(/^[a-z]{4000}$/), { seed: 7, numRuns: 1 });
    for (const text of [letters, 'x'.repeat(4_000), ' '.repeat(1_000) + 'a', '-'.repeat(3_000)]) {
      const exact = reference.countTokens(text, asText);
      const sliced = estimateTokens(text, null);
      // 2,034 against 2,031 for the letters, 48 against 47 for the dashes, equal for the rest.
      expect(Math.abs(sliced - exact)).toBeLessThanOrEqual(exact * 0.002 + 1);
    }
  });
});

describe(pieceSlices.name, () => {
  it('ends a slice every `longest` characters, and the last at the end', () => {
    expect(pieceSlices('abcdefg', 3)).toEqual([3, 6, 7]);
    expect(pieceSlices('abc', 3)).toEqual([3]);
    expect(pieceSlices('', 3)).toEqual([]);
  });

  it('never parts a surrogate pair', () => {
    const letter = '\u{1d400}'; // MATHEMATICAL BOLD CAPITAL A: two UTF-16 code units
    const piece = 'ab' + letter + letter;
    const ends = pieceSlices(piece, 3);
    expect(ends).toEqual([2, 4, 6]);
    let at = 0;
    for (const end of ends) {
      expect(piece.slice(at, end)).not.toMatch(/^[\udc00-\udfff]|[\ud800-\udbff]$/);
      at = end;
    }
  });
});
