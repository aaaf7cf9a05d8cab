import { Spool, type QueuedSend } from './outage-spool';

export type { QueuedSend } from './outage-spool';

/**
 * Sends accepted while Redis could not be reached, in arrival order, bounded. With a spool
 * directory every accepted send is appended to this instance's own spool file and synced
 * before it is acknowledged, so the queue survives a restart of the service (see Spool for
 * how instances sharing a directory keep apart, and adopt the files of those that are gone).
 * The file is emptied once all is flushed. A send flushed twice (a crash between flushing and
 * emptying) is harmless: the writes are idempotent by message id.
 */
export class OutageQueue {
  private readonly entries: QueuedSend[];
  private spool: Spool | null = null;

  /** `store` names where the sends go (see Spool.open). */
  constructor(
    readonly capacity: number,
    private readonly spoolDir: string | null,
    private readonly store = '',
  ) {
    if (spoolDir) {
      const { spool, entries } = Spool.open(spoolDir, store);
      this.spool = spool;
      this.entries = entries;
    } else {
      this.entries = [];
    }
  }

  get size(): number {
    return this.entries.length;
  }

  get spooled(): boolean {
    return this.spool !== null;
  }

  /** This instance's spool file, if it has one. */
  get spoolFile(): string | null {
    return this.spool?.file ?? null;
  }

  /** Accepts a send; false when the queue is full. */
  add(entry: QueuedSend): boolean {
    if (this.entries.length >= this.capacity) return false;
    this.spool?.append(entry);
    this.entries.push(entry);
    return true;
  }

  peek(): QueuedSend | undefined {
    return this.entries[0];
  }

  /** Drops the oldest entry once it is safely in Redis. */
  shift(): void {
    this.entries.shift();
    if (this.entries.length === 0) this.spool?.clear();
  }

  /**
   * Drops the oldest entry for good (it was refused): unlike a stored one, it must not be
   * tried again after a restart, so the spool is rewritten without it.
   */
  drop(): void {
    this.entries.shift();
    this.spool?.rewrite(this.entries);
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
      this.entries.push(...entries);
      return entries.length;
    }
    const adopted = this.spool.adoptAbandoned();
    this.entries.push(...adopted);
    return adopted.length;
  }

  close(): void {
    this.spool?.close(this.entries.length === 0);
    this.spool = null;
  }
}
