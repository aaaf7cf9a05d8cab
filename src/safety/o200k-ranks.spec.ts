import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import packaged from 'gpt-tokenizer/bpeRanks/o200k_base';
import { countTokens as packagedCount } from 'gpt-tokenizer/encoding/o200k_base';
import { estimateTokens } from './token-estimate';
import { readO200kRanks } from './o200k-ranks';

describe(readO200kRanks.name, () => {
  it("reads the same vocabulary, rank by rank, as the package's own module holds", () => {
    const read = readO200kRanks();
    expect(read).toHaveLength(packaged.length);
    const differing = read.flatMap((token, rank) =>
      JSON.stringify(token) === JSON.stringify(packaged[rank]) ? [] : [rank],
    );
    expect(differing).toEqual([]);
    // The ranks kept as bytes include the ones a decoder would strip a byte-order mark from.
    expect(read.filter((token) => typeof token !== 'string').length).toBeGreaterThan(9);
    expect(read[5574]).toEqual([0xef, 0xbb, 0xbf]);
  });

  it('counts what the package counts', () => {
    for (const text of [
      'hello world',
      'Summarise the quarterly report and list three risks.\n\n- one\n- two',
      '\uFEFFusing System; namespace Demo { }',
      'naïve café, 東京, Ελληνικά, emoji 🤖🧵 and \u0000 control',
      JSON.stringify({ id: 42, tags: ['a', 'b'], nested: { ok: true } }),
    ]) {
      expect(estimateTokens(text, null)).toBe(packagedCount(text));
    }
  });

  it('fills ranks the file skips and refuses a line that is not "<base64> <rank>"', () => {
    const dir = mkdtempSync(join(tmpdir(), 'o200k-'));
    try {
      const file = join(dir, 'ranks.tiktoken');
      writeFileSync(file, 'YQ== 0\nYg== 2\n/w== 3\n');
      expect(readO200kRanks(file)).toEqual(['a', '', 'b', [0xff]]);
      writeFileSync(file, 'YQ== 0\nYg==\n');
      expect(() => readO200kRanks(file)).toThrow(/not a "<base64> <rank>" line: Yg==/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
