import { parse } from 'graphql';
import { DocumentCache, documentHeapBytes } from './document-cache';

const text = (field: string): string => `query { ${field} }`;

describe('DocumentCache', () => {
  it('estimates the heap of a document from its text, higher with source locations', () => {
    const query = text('health');
    expect(documentHeapBytes(parse(query), query.length)).toBe(query.length * 80);
    expect(documentHeapBytes(parse(query, { noLocation: true }), query.length)).toBe(
      query.length * 32,
    );
  });

  it('counts a document by the length of its text when no length is given', () => {
    const cache = new DocumentCache(1_000_000);
    const query = `${text('health')}   # a comment\n`;
    cache.put('q', parse(query));
    expect(cache.heapBytes).toBe(query.length * 80);
  });

  it('drops the least recently used documents once the estimated heap passes the capacity', () => {
    const queries = ['aaaa', 'bbbb', 'cccc'].map(text);
    const each = queries[0].length * 80;
    const cache = new DocumentCache(each * 2);
    cache.put('a', parse(queries[0]));
    cache.put('b', parse(queries[1]));
    expect(cache.peek('a')).toBeDefined(); // now b is the least recently used
    cache.put('c', parse(queries[2]));
    expect(cache.peek('b')).toBeUndefined();
    expect(cache.peek('a')).toBeDefined();
    expect(cache.peek('c')).toBeDefined();
    expect(cache.size).toBe(2);
    expect(cache.heapBytes).toBe(each * 2);
  });

  it('keeps the order of use when the most recent document is used again', () => {
    const queries = ['aaaa', 'bbbb', 'cccc', 'dddd'].map(text);
    const each = queries[0].length * 80;
    const cache = new DocumentCache(each * 2);
    cache.put('a', parse(queries[0]));
    cache.put('b', parse(queries[1]));
    cache.peek('a');
    cache.peek('a'); // already the most recent: b is still the least recently used
    cache.put('c', parse(queries[2]));
    expect(cache.peek('b')).toBeUndefined();

    // c was put last, then a used: c is the least recently used.
    cache.peek('a');
    cache.put('d', parse(queries[3]));
    expect(cache.peek('c')).toBeUndefined();
    expect(cache.peek('a')).toBeDefined();
    expect(cache.peek('d')).toBeDefined();

    // d, then a again and again: d goes first.
    cache.peek('a');
    cache.put('b', parse(queries[1]));
    expect(cache.peek('d')).toBeUndefined();
    expect(cache.peek('a')).toBeDefined();
  });

  it('keeps no document larger than the whole capacity, and evicts nothing for it', () => {
    const small = text('a');
    const cache = new DocumentCache(small.length * 80);
    cache.put('small', parse(small));
    cache.put('large', parse(text('a b c d e f')));
    expect(cache.peek('large')).toBeUndefined();
    expect(cache.peek('small')).toBeDefined();
  });

  it('replaces a document under the same key without counting it twice', () => {
    const cache = new DocumentCache(1_000_000);
    const query = text('health');
    cache.put('q', parse(query));
    cache.put('q', parse(query));
    expect(cache.size).toBe(1);
    expect(cache.heapBytes).toBe(query.length * 80);
    expect(cache.remove('q')).toBe(true);
    expect(cache.remove('q')).toBe(false);
    expect(cache.heapBytes).toBe(0);
  });
});
