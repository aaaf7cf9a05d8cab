import { readFileSync } from 'node:fs';
import { TextDecoder } from 'node:util';

/**
 * The o200k vocabulary as gpt-tokenizer takes it: at each rank, the token's text when its
 * bytes are UTF-8 that decodes and encodes back to the same bytes, else the bytes themselves;
 * `''` at a rank the file skips.
 */
type BytePairRanks = (string | number[])[];

/** The vocabulary in tiktoken's own format, as the tokenizer package ships it. */
const O200K_FILE = require.resolve('gpt-tokenizer/data/o200k_base.tiktoken');

/**
 * Reads the o200k vocabulary from tiktoken's file (one `<base64 bytes> <rank>` a line), the
 * same data the package's `bpeRanks/o200k_base` module holds as a 2.4 MB array literal.
 * Compiling that literal made each process keep about 18 MB more resident memory than this
 * does (113 against 95 MB for the tokenizer alone, measured in a bare Node.js process), for a
 * one-off 50 ms more at start; the test compares the two vocabularies rank by rank.
 */
export function readO200kRanks(file: string = O200K_FILE): BytePairRanks {
  const strict = new TextDecoder('utf-8', { fatal: true });
  const ranks: BytePairRanks = [];
  for (const line of readFileSync(file, 'latin1').split('\n')) {
    if (line === '') continue;
    const space = line.indexOf(' ');
    const rank = Number(line.slice(space + 1));
    if (space <= 0 || !Number.isSafeInteger(rank) || rank < 0) {
      throw new Error(`${file}: not a "<base64> <rank>" line: ${line.slice(0, 80)}`);
    }
    while (ranks.length < rank) ranks.push('');
    ranks[rank] = tokenOf(Buffer.from(line.slice(0, space), 'base64'), strict);
  }
  return ranks;
}

/**
 * A token's text, or its bytes when they are not UTF-8 or do not survive decoding unchanged
 * (a leading byte-order mark, which the decoder drops).
 */
function tokenOf(bytes: Buffer, strict: TextDecoder): string | number[] {
  try {
    const text = strict.decode(bytes);
    if (Buffer.byteLength(text, 'utf8') === bytes.length) return text;
  } catch {
    // Not UTF-8: the bytes stand for themselves.
  }
  return Array.from(bytes);
}
