import { ChunkCounts } from './chunk-counts';

describe(ChunkCounts.name, () => {
  function counter(): { count: (piece: string) => number; calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      count: (piece) => {
        calls.push(piece);
        return piece.length;
      },
    };
  }

  it('counts a piece once and answers it from memory after', () => {
    const counts = new ChunkCounts(10, 100, 50);
    const { count, calls } = counter();
    expect(counts.get('hello', count)).toBe(5);
    expect(counts.get('hello', count)).toBe(5);
    expect(counts.get('world!', count)).toBe(6);
    expect(calls).toEqual(['hello', 'world!']);
    expect(counts.held).toEqual({ entries: 2, chars: 11 });
  });

  it('starts again empty rather than hold more entries or characters than its bounds', () => {
    const byEntries = new ChunkCounts(3, 1_000, 50);
    const { count } = counter();
    for (const piece of ['a', 'b', 'c', 'd']) byEntries.get(piece, count);
    expect(byEntries.held).toEqual({ entries: 1, chars: 1 });

    const byChars = new ChunkCounts(100, 10, 50);
    byChars.get('abcdef', count);
    byChars.get('ghij', count);
    expect(byChars.held).toEqual({ entries: 2, chars: 10 });
    byChars.get('k', count);
    expect(byChars.held).toEqual({ entries: 1, chars: 1 });
  });

  it('never keeps a piece longer than its limit', () => {
    const counts = new ChunkCounts(10, 1_000, 4);
    const { count, calls } = counter();
    expect(counts.get('abcde', count)).toBe(5);
    expect(counts.get('abcde', count)).toBe(5);
    expect(calls).toEqual(['abcde', 'abcde']);
    expect(counts.held).toEqual({ entries: 0, chars: 0 });
  });

  it('keeps every code unit of a piece, lone surrogates included', () => {
    const counts = new ChunkCounts(10, 1_000, 50);
    const { count, calls } = counter();
    counts.get('a\ud800b', count);
    counts.get('a\ufffdb', count);
    expect(calls).toEqual(['a\ud800b', 'a\ufffdb']);
  });
});
