import { AppError } from '../common/app-error';
import {
  checkQueryTerms,
  checkSearchQuery,
  MAX_QUERY_LENGTH,
  MAX_QUERY_TERMS,
  MAX_SEARCH_PAGE,
} from './search-query';
import {
  MAX_INDEXED_CHARACTERS,
  MAX_TERM_LENGTH,
  MAX_TERMS_PER_MESSAGE,
  messageTerms,
  queryWords,
  tokenize,
} from './search-tokenizer';

function failure(run: () => unknown): AppError {
  try {
    run();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe(tokenize.name, () => {
  it('lower-cases and splits on everything but letters and digits', () => {
    expect(tokenize('Deploy-Plan: v2.1 ready?! (build_42)')).toEqual([
      'deploy',
      'plan',
      'v2',
      'ready',
      'build',
      '42',
    ]);
  });

  it('drops one-character words and stop words, and keeps each term once, in first order', () => {
    expect(tokenize('The plan and THE plan: a b c, x1 plan')).toEqual(['plan', 'x1']);
  });

  it('counts characters, not UTF-16 units: one astral letter is one character', () => {
    expect(tokenize('\u{10330} \u{10330}b \u{10330}\u{10331}')).toEqual([
      '\u{10330}b',
      '\u{10330}\u{10331}',
    ]);
  });

  it('reads letters and digits of every script', () => {
    expect(tokenize('Grüße aus Köln — Привет мир — ٤٢ 東京')).toEqual([
      'grüße',
      'aus',
      'köln',
      'привет',
      'мир',
      '٤٢',
      '東京',
    ]);
  });

  it('makes composed and decomposed accents, and full-width letters, one term', () => {
    const composed = 'caf\u00e9';
    const decomposed = 'cafe\u0301';
    expect(tokenize(decomposed)).toEqual(tokenize(composed));
    expect(tokenize('ＡＢＣ')).toEqual(['abc']);
  });

  it('finds a word with a capital dotted I by any case typed without the dot', () => {
    expect(tokenize('İzmir raporu İSTANBUL')).toEqual(['izmir', 'raporu', 'istanbul']);
    for (const query of ['izmir', 'Izmir', 'IZMIR', 'İzmir']) {
      expect(checkQueryTerms(query)).toEqual(['izmir']);
    }
  });

  it('keeps combining marks inside a word (Devanagari vowel signs)', () => {
    expect(tokenize('नमस्ते दुनिया')).toEqual(['नमस्ते', 'दुनिया']);
  });

  it('skips words longer than the longest term', () => {
    const long = 'a'.repeat(MAX_TERM_LENGTH + 1);
    const longest = 'b'.repeat(MAX_TERM_LENGTH);
    expect(tokenize(`${long} ${longest} ok`)).toEqual([longest, 'ok']);
  });

  it('is empty for text without words', () => {
    expect(tokenize('')).toEqual([]);
    expect(tokenize('!!! --- ... ✓ 🙂')).toEqual([]);
  });
});

describe(messageTerms.name, () => {
  it('takes the subject first, then the content, each term once', () => {
    expect(messageTerms('Release notes', 'notes for the release of build 7x')).toEqual([
      'release',
      'notes',
      'build',
      '7x',
    ]);
  });

  it('indexes at most MAX_TERMS_PER_MESSAGE distinct terms', () => {
    const words = Array.from({ length: 1_000 }, (_, i) => `w${i}`);
    const terms = messageTerms('subject', words.join(' '));
    expect(terms).toHaveLength(MAX_TERMS_PER_MESSAGE);
    expect(terms[0]).toBe('subject');
    expect(terms.at(-1)).toBe(`w${MAX_TERMS_PER_MESSAGE - 2}`);
  });

  it('reads only the beginning of a huge content, without the word the cut goes through', () => {
    const filler = 'zz '.repeat(Math.floor((MAX_INDEXED_CHARACTERS - 6) / 3));
    const content = `${filler}abcdefgh tail`;
    expect(content.length).toBeGreaterThan(MAX_INDEXED_CHARACTERS);
    const terms = messageTerms(null, content);
    expect(terms).toContain('zz');
    expect(terms.some((term) => term.startsWith('abc'))).toBe(false);
    expect(terms).not.toContain('tail');
  });

  it('keeps a word that ends exactly at the cut', () => {
    const filler = 'zz '.repeat(1_000).padEnd(MAX_INDEXED_CHARACTERS - 5, ' ');
    const terms = messageTerms(null, `${filler}abcde more`);
    expect(terms).toEqual(['zz', 'abcde']);
  });
});

describe(checkQueryTerms.name, () => {
  it('returns the distinct terms, tokenized like messages', () => {
    expect(checkQueryTerms('Deploy the PLAN, deploy!')).toEqual(['deploy', 'plan']);
  });

  it.each(['', '   ', 'a b c', 'the and of', '!!!'])(
    'refuses %j: no word to search for',
    (query) => {
      const error = failure(() => checkQueryTerms(query));
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.details).toMatchObject({ field: 'query', limit: 1 });
      expect(error.message).toMatch(/^query: has no word to search for/);
    },
  );

  it('refuses more than MAX_QUERY_TERMS distinct terms', () => {
    const words = Array.from({ length: MAX_QUERY_TERMS }, (_, i) => `w${i}`);
    expect(checkQueryTerms(words.join(' '))).toHaveLength(MAX_QUERY_TERMS);
    const error = failure(() => checkQueryTerms([...words, 'one-more'].join(' ')));
    expect(error.details).toMatchObject({ field: 'query', limit: MAX_QUERY_TERMS });
    expect(error.message).toBe(`query: 10 distinct words exceeds the limit of ${MAX_QUERY_TERMS}`);
  });

  it('refuses a query longer than MAX_QUERY_LENGTH characters', () => {
    expect(checkQueryTerms(`ok ${' '.repeat(MAX_QUERY_LENGTH - 3)}`)).toEqual(['ok']);
    const error = failure(() => checkQueryTerms(`ok ${' '.repeat(MAX_QUERY_LENGTH)}`));
    expect(error.details).toMatchObject({ field: 'query', limit: MAX_QUERY_LENGTH });
  });

  it('refuses a word that no index can hold', () => {
    const error = failure(() => checkQueryTerms(`ok ${'x'.repeat(MAX_TERM_LENGTH + 1)}`));
    expect(error.details).toMatchObject({ field: 'query', limit: MAX_TERM_LENGTH });
  });
});

describe(queryWords.name, () => {
  it('sets apart the words too long to be indexed', () => {
    const long = 'k'.repeat(MAX_TERM_LENGTH + 1);
    expect(queryWords(`find ${long} it`)).toEqual({ terms: ['find'], tooLong: [long] });
  });
});

describe(checkSearchQuery.name, () => {
  const base = { query: 'plan', first: undefined, after: undefined, threadId: undefined };

  it('defaults to the first 20 from the newest, any thread', () => {
    expect(checkSearchQuery(base)).toEqual({
      terms: ['plan'],
      first: 20,
      after: null,
      threadId: null,
    });
  });

  it.each([0, -1, MAX_SEARCH_PAGE + 1, 1.5])('refuses first = %p', (first) => {
    const error = failure(() => checkSearchQuery({ ...base, first }));
    expect(error.details).toMatchObject({ field: 'first', limit: MAX_SEARCH_PAGE });
  });

  it('takes a message id as the cursor, upper-cased, and refuses anything else', () => {
    const id = '01arz3ndektsv4rrffq69g5fav';
    expect(checkSearchQuery({ ...base, after: id }).after).toBe(id.toUpperCase());
    expect(failure(() => checkSearchQuery({ ...base, after: '0' })).details).toMatchObject({
      field: 'after',
    });
  });

  it('refuses an empty or over-long threadId', () => {
    for (const threadId of ['', 't'.repeat(257)]) {
      expect(failure(() => checkSearchQuery({ ...base, threadId })).details).toMatchObject({
        field: 'threadId',
        limit: 256,
      });
    }
  });
});
