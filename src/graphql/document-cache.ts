import type { DocumentNode } from 'graphql';

/**
 * Heap a parsed document takes per character of its text, measured with graphql-js 16 on
 * Node.js 20 (and rounded up): with source locations every token stays in a linked list,
 * 63-74 bytes a character; without them, 24-30.
 */
const HEAP_BYTES_PER_CHARACTER = { withLocations: 80, withoutLocations: 32 };

/** Documents kept by each cache, by the heap they take (estimated from their text). */
export const DOCUMENT_CACHE_BYTES = 8 * 1024 * 1024;

/**
 * The heap a parsed document takes, estimated from the length of its text. (Counting a
 * document's JSON would leave out the tokens behind its locations: a document whose JSON is
 * 1 MB takes about 4.5 MB.)
 */
export function documentHeapBytes(document: DocumentNode, textLength: number): number {
  const perCharacter = document.loc
    ? HEAP_BYTES_PER_CHARACTER.withLocations
    : HEAP_BYTES_PER_CHARACTER.withoutLocations;
  return textLength * perCharacter;
}

/**
 * Parsed documents by key, least recently used out first once their estimated heap passes
 * `capacityBytes`.
 */
export class DocumentCache {
  private readonly entries = new Map<string, { document: DocumentNode; bytes: number }>();
  private bytes = 0;
  /**
   * The key last in the order, most recently used: peeking it again moves nothing. Moving an
   * entry is a delete and a set, and doing that for every request of a client that sends one
   * document over and over gave the map a new table every few requests.
   */
  private newest: string | undefined;

  constructor(private readonly capacityBytes = DOCUMENT_CACHE_BYTES) {}

  /** The estimated heap of the documents held. */
  get heapBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.entries.size;
  }

  peek(key: string): DocumentNode | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (key !== this.newest) {
      this.entries.delete(key);
      this.entries.set(key, entry);
      this.newest = key;
    }
    return entry.document;
  }

  /**
   * Keeps `document`; `textLength` defaults to the length of the text it was parsed from (its
   * location's end), or for a document without locations the length of its JSON, which
   * overstates it.
   */
  put(key: string, document: DocumentNode, textLength = documentTextLength(document)): void {
    this.remove(key);
    const bytes = documentHeapBytes(document, textLength);
    if (bytes > this.capacityBytes) return;
    this.entries.set(key, { document, bytes });
    this.newest = key;
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.capacityBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  remove(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.bytes -= entry.bytes;
    return true;
  }
}

function documentTextLength(document: DocumentNode): number {
  return document.loc?.end ?? JSON.stringify(document).length;
}
