import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { StoredMessage } from '../messages/stored-message';

export interface QueuedSend {
  message: StoredMessage;
  idempotencyKey: string | null;
}

export const SPOOL_FILE = 'outage-queue.jsonl';

/**
 * Sends accepted while Redis could not be reached, in arrival order, bounded. With a spool
 * directory every accepted send is appended to a file and fsynced before it is acknowledged,
 * so the queue survives a restart of the service; the file is emptied once all is flushed.
 * A send flushed twice (a crash between flushing and emptying) is harmless: the writes are
 * idempotent by message id.
 */
export class OutageQueue {
  private readonly entries: QueuedSend[] = [];
  private fd: number | null = null;

  constructor(
    readonly capacity: number,
    private readonly spoolDir: string | null,
  ) {
    if (spoolDir) {
      mkdirSync(spoolDir, { recursive: true });
      const path = join(spoolDir, SPOOL_FILE);
      this.fd = openSync(path, 'a+');
      for (const line of readFileSync(path, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          this.entries.push(JSON.parse(line) as QueuedSend);
        } catch {
          // A line cut short by a crash was never acknowledged.
        }
      }
    }
  }

  get size(): number {
    return this.entries.length;
  }

  get spooled(): boolean {
    return this.fd !== null;
  }

  /** Accepts a send; false when the queue is full. */
  add(entry: QueuedSend): boolean {
    if (this.entries.length >= this.capacity) return false;
    if (this.fd !== null) {
      writeSync(this.fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(this.fd);
    }
    this.entries.push(entry);
    return true;
  }

  peek(): QueuedSend | undefined {
    return this.entries[0];
  }

  /** Drops the oldest entry once it is safely in Redis. */
  shift(): void {
    this.entries.shift();
    if (this.entries.length === 0 && this.fd !== null) {
      ftruncateSync(this.fd, 0);
      fsyncSync(this.fd);
    }
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
