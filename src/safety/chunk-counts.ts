/**
 * Token counts of the pieces a tokenizer's pattern splits text into, remembered so that a
 * piece seen before costs one lookup instead of a byte-pair merge. Text is Zipfian: most of a
 * message's pieces (" the", ",", " message") recur across messages.
 *
 * Bounded by entries and by the characters its keys hold; when either would be passed, it
 * starts again empty, which costs a few misses and no bookkeeping on a hit (an LRU would move
 * an entry on every one). Pieces longer than `maxPieceChars` are never kept. Keys are copies:
 * a piece sliced from a message would otherwise keep the whole message alive.
 */
export class ChunkCounts {
  private readonly counts = new Map<string, number>();
  private chars = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxChars: number,
    private readonly maxPieceChars: number,
  ) {}

  /** The count of `piece`, from `count` on its first sight. */
  get(piece: string, count: (piece: string) => number): number {
    const known = this.counts.get(piece);
    if (known !== undefined) return known;
    if (piece.length > this.maxPieceChars) return count(piece);
    const key = ownCopy(piece);
    const counted = count(key);
    if (this.counts.size >= this.maxEntries || this.chars + key.length > this.maxChars) {
      this.counts.clear();
      this.chars = 0;
    }
    this.counts.set(key, counted);
    this.chars += key.length;
    return counted;
  }

  /** Pieces and characters held now. */
  get held(): { entries: number; chars: number } {
    return { entries: this.counts.size, chars: this.chars };
  }
}

/**
 * A string with storage of its own, equal to `text`. V8 makes a slice of 13 characters or
 * more a view into the string it was cut from; copying through UTF-16 bytes keeps every code
 * unit, lone surrogates included.
 */
function ownCopy(text: string): string {
  return Buffer.from(text, 'utf16le').toString('utf16le');
}
