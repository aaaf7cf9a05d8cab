import { Spool, spoolLine, type QueuedSend } from './outage-spool';

export type { QueuedSend } from './outage-spool';

/**
 * Marks of stored sends a spool file may hold before it is rewritten with only the sends
 * still waiting (or as many as those, if more): rewriting costs as much as what waits.
 */
const COMPACT_AFTER_MARKS = 1_000;

function keyOf(sender: string, idempotencyKey: string): string {
  return `${sender}\n${idempotencyKey}`;
}

/**
 * Sends accepted while Redis could not be reached, in arrival order, bounded. With a spool
 * directory every accepted send is appended to this instance's own spool file and synced
 * before it is acknowledged, so the queue survives a restart of the service (see Spool for
 * how instances sharing a directory keep apart, and adopt the files of those that are gone).
 * Each send stored in Redis is marked so in the file, which a restart skips; the file is
 * emptied once all is flushed, and rewritten with what is left when the marks outnumber the
 * sends waiting. A send stored twice (a crash before its mark reached the disk) finds its
 * writes done: they are idempotent by message id.
 */
export class OutageQueue {
  private readonly entries: QueuedSend[] = [];
  /** Each entry's size as a spool line, in bytes, in the order of `entries`. */
  private readonly sizes: number[] = [];
  private spool: Spool | null = null;
  /** Marks written since the file last held only the sends waiting. */
  private marks = 0;
  private heldBytes = 0;
  /** The send holding each sender's idempotency key, by keyOf. */
  private readonly keyed = new Map<string, QueuedSend>();

  /**
   * `capacity`: sends; `maxBytes`: their bytes as spool lines, what they take on disk and
   * about what they take in memory. `store` names where the sends go (see Spool.open).
   */
  constructor(
    readonly capacity: number,
    private readonly spoolDir: string | null,
    private readonly store = '',
    readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    if (spoolDir) {
      const { spool, entries } = Spool.open(spoolDir, store);
      this.spool = spool;
      this.hold(entries);
    }
  }

  get size(): number {
    return this.entries.length;
  }

  /** The bytes of the sends held, as spool lines. */
  get bytes(): number {
    return this.heldBytes;
  }

  get spooled(): boolean {
    return this.spool !== null;
  }

  /** This instance's spool file, if it has one. */
  get spoolFile(): string | null {
    return this.spool?.file ?? null;
  }

  /**
   * Accepts a send; else says which bound it would pass: `sends` (capacity) or `bytes`
   * (maxBytes).
   */
  add(entry: QueuedSend): 'sends' | 'bytes' | null {
    if (this.entries.length >= this.capacity) return 'sends';
    const line = spoolLine(entry);
    const size = Buffer.byteLength(line);
    if (this.heldBytes + size > this.maxBytes) return 'bytes';
    this.spool?.append(line);
    this.entries.push(entry);
    this.sizes.push(size);
    this.heldBytes += size;
    this.index(entry);
    return null;
  }

  /** The send waiting here with the sender's idempotency key, if one does. */
  withKey(sender: string, key: string): QueuedSend | undefined {
    return this.keyed.get(keyOf(sender, key));
  }

  private index(entry: QueuedSend): void {
    if (entry.idempotencyKey === null) return;
    const key = keyOf(entry.message.sender, entry.idempotencyKey);
    if (!this.keyed.has(key)) this.keyed.set(key, entry);
  }

  /** Takes in sends accepted already (a spool's, an adopted one's): past the bounds, if need be. */
  private hold(entries: QueuedSend[]): void {
    for (const entry of entries) {
      const size = Buffer.byteLength(spoolLine(entry));
      this.entries.push(entry);
      this.sizes.push(size);
      this.heldBytes += size;
      this.index(entry);
    }
  }

  /** Removes the oldest entry from memory. */
  private unhold(): QueuedSend | undefined {
    this.heldBytes -= this.sizes.shift() ?? 0;
    const entry = this.entries.shift();
    if (entry?.idempotencyKey != null) {
      const key = keyOf(entry.message.sender, entry.idempotencyKey);
      if (this.keyed.get(key) === entry) this.keyed.delete(key);
    }
    return entry;
  }

  peek(): QueuedSend | undefined {
    return this.entries[0];
  }

  /** Drops the oldest entry once it is safely in Redis. */
  shift(): void {
    const stored = this.unhold();
    if (!this.spool || !stored) return;
    // Best effort: the send is in Redis. A mark or a compaction the disk refuses only leaves
    // the send to be stored again (idempotently) after a restart; the drain goes on.
    try {
      if (this.entries.length === 0) {
        this.spool.clear();
        this.marks = 0;
      } else if (this.marks >= Math.max(COMPACT_AFTER_MARKS, this.entries.length)) {
        this.spool.rewrite(this.entries);
        this.marks = 0;
      } else {
        this.spool.stored(stored.message.id);
        this.marks += 1;
      }
    } catch {
      // See above.
    }
  }

  /**
   * Drops the oldest entry for good (it was refused): unlike a stored one, it must not be
   * tried again after a restart, so the spool is rewritten without it.
   */
  drop(): void {
    this.unhold();
    this.spool?.rewrite(this.entries);
    this.marks = 0;
  }

  /**
   * Marks the spool alive and takes in the sends of instances that are gone (past the bound:
   * they were acknowledged already). Returns how many were taken in.
   */
  maintain(): number {
    if (!this.spool || !this.spoolDir) return 0;
    if (!this.spool.heartbeat()) {
      // Taken for dead while frozen, and adopted: start a new file with what is still here.
      this.spool.close(false);
      const { spool, entries } = Spool.open(this.spoolDir, this.store);
      this.spool = spool;
      spool.rewrite([...this.entries, ...entries]);
      this.marks = 0;
      this.hold(entries);
      return entries.length;
    }
    const adopted = this.spool.adoptAbandoned();
    this.hold(adopted);
    return adopted.length;
  }

  close(): void {
    this.spool?.close(this.entries.length === 0);
    this.spool = null;
  }
}
