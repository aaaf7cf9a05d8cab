import fc from 'fast-check';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { asciiPieceEnd } from './o200k-pieces';

describe(asciiPieceEnd.name, () => {
  const pattern = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, 'uy');

  /** Where the pattern ends the piece at `at`. */
  function patternEnd(text: string, at: number): number {
    pattern.lastIndex = at;
    expect(pattern.test(text)).toBe(true);
    return pattern.lastIndex;
  }

  /** Every piece start of `text`, by the pattern, with the pattern's end of each. */
  function pieces(text: string): Array<[number, number]> {
    const found: Array<[number, number]> = [];
    for (let at = 0; at < text.length;) {
      const end = patternEnd(text, at);
      found.push([at, end]);
      at = end;
    }
    return found;
  }

  // Every kind of ASCII character the pattern tells apart, the contractions, and characters
  // past ASCII that would change a piece: letters, a mark, white space, punctuation, a
  // character past U+FFFF and a lone surrogate.
  const ascii = [
    ...'aAbBzZsSlLvVeErR09 \t\n\r\v\f.,;:!?"-_/\\()[]{}<>|@#$%^&*+=~`\'',
    '\0',
    '\x1f',
    '\x7f',
  ];
  const beyond = [
    'é',
    'ß',
    'Ǆ',
    'ʰ',
    '\u0301',
    '中',
    '٣',
    '\u00a0',
    '\u2028',
    '’',
    '—',
    '😀',
    '\ud800',
  ];
  const contractions = ["'s", "'D", "'m", "'T", "'ll", "'LL", "'ve", "'Re"];
  // Long runs of lower-case letters, which a single piece takes whole.
  const longRuns = ['abcdefghijklmnopqrstuvwxyz', 'x'.repeat(30)];

  function texts(alphabet: string[]): fc.Arbitrary<string> {
    return fc
      .array(fc.constantFrom(...alphabet), { minLength: 1, maxLength: 40 })
      .map((parts) => parts.join(''));
  }

  it('ends every piece of ASCII text where the pattern does', () => {
    fc.assert(
      fc.property(texts([...ascii, ...contractions, ...longRuns]), (text) => {
        for (const [at, end] of pieces(text)) expect(asciiPieceEnd(text, at)).toBe(end);
      }),
      { seed: 11, numRuns: 5_000 },
    );
  });

  it('ends a piece where the pattern does, or leaves it to the pattern past ASCII', () => {
    let leftToPattern = 0;
    fc.assert(
      fc.property(texts([...ascii, ...contractions, ...longRuns, ...beyond]), (text) => {
        for (const [at, end] of pieces(text)) {
          const found = asciiPieceEnd(text, at);
          if (found === -1) {
            leftToPattern += 1;
            // Only where a character past ASCII is within the piece or within the two after
            // it: a run of white space that ends in one is a piece but for its last space.
            expect(text.slice(at, end + 2)).toMatch(/[^\0-\x7f]/);
          } else {
            expect(found).toBe(end);
          }
        }
      }),
      { seed: 12, numRuns: 5_000 },
    );
    expect(leftToPattern).toBeGreaterThan(0);
  });

  it('takes what each branch of the pattern takes', () => {
    const cases: Array<[string, string]> = [
      [' Hello, world', ' Hello'],
      ['HELLOworld', 'HELLOworld'],
      ['HELLO world', 'HELLO'],
      ["we'LL go", "we'LL"],
      ["it'x", 'it'],
      ['(quoted)', '(quoted'],
      ['\tindented', '\tindented'],
      ['12345', '123'],
      [' 42', ' '],
      [' ...\n\n/next', ' ...\n\n/'],
      ['  \n \n  x', '  \n \n'],
      ['    x', '   '],
      ['   ', '   '],
      [' x', ' x'],
      ['\n x', '\n'],
    ];
    for (const [text, piece] of cases) {
      expect(text.slice(0, asciiPieceEnd(text, 0))).toBe(piece);
      expect(patternEnd(text, 0)).toBe(piece.length);
    }
  });
});
