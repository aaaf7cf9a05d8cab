import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { StoredMessage } from '../messages/stored-message';
import type { SendGuardRequest } from '../safety/safety.repository';

export interface QueuedSend {
  message: StoredMessage;
  idempotencyKey: string | null;
  /**
   * The request whose deadline this timely reply stops once stored (absent in sends spooled
   * by earlier versions, and for every send that answers no request in time).
   */
  answers?: Pick<StoredMessage, 'id' | 'replyBy'> | null;
  /**
   * What the guards counted for a send admitted before it was queued (while earlier sends
   * waited), to be given back should the queue drop it or it turn out a repeat; absent for a
   * send queued unguarded.
   */
  guarded?: { request: SendGuardRequest; byOperator: boolean } | null;
}

/** Every spool file's name starts with this. */
export const SPOOL_PREFIX = 'outage-queue';
/** The one spool file of earlier versions, which had no owner: adopted like an abandoned one. */
const UNOWNED_FILE = `${SPOOL_PREFIX}.jsonl`;
/**
 * `outage-queue.<owner>.lock`, `outage-queue.<owner>.jsonl`, `outage-queue.<owner>.adopt-<n>.jsonl`,
 * where `<owner>` is `<store>-<pid>-<random>`.
 */
const OWNED_FILE = /^outage-queue\.(([0-9a-f]{8})-\d+-[0-9a-f]+)\.(lock|jsonl|adopt-(\d+)\.jsonl)$/;

/** How often an owner marks its lock as alive. */
export const HEARTBEAT_MS = 10_000;
/**
 * A lock not marked alive for this long belongs to a process that is gone, whatever host or
 * pid it names: the only way to tell for a lock written on another machine or container.
 */
export const STALE_AFTER_MS = 60_000;

/**
 * Tells this process's locks from those of an earlier process with the same pid, which is
 * every restart of a container (the service runs as pid 1).
 */
const PROCESS_NONCE = randomBytes(8).toString('hex');

interface LockRecord {
  pid: number;
  host: string;
  nonce: string;
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

function removeIfPresent(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if (!isMissing(error)) throw error;
  }
}

function isEmpty(path: string): boolean {
  try {
    return statSync(path).size === 0;
  } catch (error) {
    if (isMissing(error)) return true;
    throw error;
  }
}

/** Makes created, renamed and removed names in `dir` survive a crash of the machine. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A send as a line of a spool file. */
export function spoolLine(entry: QueuedSend): string {
  return `${JSON.stringify(entry)}\n`;
}

/** A line that says the send with this message id is in Redis (see Spool.stored). */
interface StoredMark {
  stored: string;
}

/**
 * The sends in a spool file still to be stored: those without a line that marks them stored.
 * A last line cut short by a crash was never acknowledged.
 */
function readEntries(path: string): QueuedSend[] {
  const entries: QueuedSend[] = [];
  const stored = new Set<string>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    let parsed: QueuedSend | StoredMark;
    try {
      parsed = JSON.parse(line) as QueuedSend | StoredMark;
    } catch {
      continue; // cut short by a crash
    }
    if ('stored' in parsed) stored.add(parsed.stored);
    else entries.push(parsed);
  }
  return stored.size === 0 ? entries : entries.filter((entry) => !stored.has(entry.message.id));
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the owner of a lock is alive, as far as this process can tell. */
function ownerAlive(lockPath: string, now: number): boolean {
  let record: LockRecord;
  try {
    if (now - statSync(lockPath).mtimeMs > STALE_AFTER_MS) return false;
    record = JSON.parse(readFileSync(lockPath, 'utf8')) as LockRecord;
  } catch {
    // Gone meanwhile, or damaged: locks appear complete or not at all (see Spool.open), so a
    // damaged one is no one's.
    return false;
  }
  // Another machine or container: its pids mean nothing here; the heartbeat above decides.
  if (record.host !== hostname()) return true;
  if (record.pid === process.pid) return record.nonce === PROCESS_NONCE;
  return processRuns(record.pid);
}

interface OwnerFiles {
  /** The tag of the store its sends are for; '' for the unowned file of earlier versions. */
  store: string;
  lock: string | null;
  /** Data files, oldest entries first: those it adopted itself, then its own. */
  data: string[];
}

/** The spool files of `dir` by owner, unowned ones under ''. */
function filesByOwner(dir: string): Map<string, OwnerFiles> {
  const owners = new Map<string, OwnerFiles & { order: Array<[number, string]> }>();
  const entry = (owner: string, store: string): OwnerFiles & { order: Array<[number, string]> } => {
    let files = owners.get(owner);
    if (!files) {
      files = { store, lock: null, data: [], order: [] };
      owners.set(owner, files);
    }
    return files;
  };
  for (const name of readdirSync(dir)) {
    if (name === UNOWNED_FILE) {
      entry('', '').order.push([0, name]);
      continue;
    }
    const match = OWNED_FILE.exec(name);
    if (!match) continue;
    const [, owner, store, kind, adoption] = match;
    const files = entry(owner, store);
    if (kind === 'lock') files.lock = name;
    else files.order.push([adoption === undefined ? Infinity : Number(adoption), name]);
  }
  const result = new Map<string, OwnerFiles>();
  for (const [owner, files] of owners) {
    files.order.sort((a, b) => a[0] - b[0]);
    result.set(owner, {
      store: files.store,
      lock: files.lock,
      data: files.order.map(([, name]) => name),
    });
  }
  return result;
}

/** A short tag of the store a spool's sends are for (see Spool.open). */
export function storeTag(store: string): string {
  return createHash('sha256').update(store).digest('hex').slice(0, 8);
}

/**
 * One instance's spool file in a directory that other instances may share (several services
 * started from one working directory, or a restart of this one).
 *
 * Each instance writes only its own file, `outage-queue.<owner>.jsonl`, where `<owner>` is
 * a tag of its store, its pid and a random suffix, next to a lock `outage-queue.<owner>.lock`
 * naming its pid, host and a per-process nonce. The lock comes first, created with link(2),
 * which fails if the name exists, from a file written in full, so that it appears complete
 * or not at all. The owner marks the lock alive every HEARTBEAT_MS and removes it at close.
 *
 * At open and at every heartbeat an instance adopts the files of owners of the same store
 * that are gone (a send is only stored where it was meant to go, under its key prefix): no
 * lock (closed with sends left), a pid that no longer runs on this host, its own pid under
 * another nonce (a restarted container), or a lock not marked alive for STALE_AFTER_MS. It
 * takes each file by renaming it to a name of its own, which only one adopter can do; then
 * copies the sends into its own file, syncs, and removes the adopted files. A crash in
 * between leaves the sends in two files, and the sends are idempotent by message id.
 */
export class Spool {
  private fd: number;
  private adoptions = 0;

  private constructor(
    readonly dir: string,
    private readonly tag: string,
    private readonly owner: string,
  ) {
    this.fd = openSync(this.file, 'a');
  }

  /**
   * Takes a file of its own in `dir`, with the sends of every owner that is gone. `store`
   * names where the sends go (the Redis and the key prefix); instances of other stores that
   * share the directory never take in each other's sends.
   */
  static open(dir: string, store = ''): { spool: Spool; entries: QueuedSend[] } {
    mkdirSync(dir, { recursive: true });
    const tag = storeTag(store);
    const owner = `${tag}-${process.pid}-${randomBytes(4).toString('hex')}`;
    const record: LockRecord = { pid: process.pid, host: hostname(), nonce: PROCESS_NONCE };
    const draft = join(dir, `.${SPOOL_PREFIX}.${owner}.lock.tmp`);
    writeFileSync(draft, JSON.stringify(record), { flush: true });
    try {
      linkSync(draft, join(dir, `${SPOOL_PREFIX}.${owner}.lock`));
    } finally {
      unlinkSync(draft);
    }
    const spool = new Spool(dir, tag, owner);
    const entries = spool.adoptAbandoned();
    syncDirectory(dir);
    return { spool, entries };
  }

  get file(): string {
    return join(this.dir, `${SPOOL_PREFIX}.${this.owner}.jsonl`);
  }

  private get lock(): string {
    return join(this.dir, `${SPOOL_PREFIX}.${this.owner}.lock`);
  }

  /**
   * Appends a send's line (spoolLine) and syncs it to disk, before it is acknowledged. A write
   * that fails or falls short (a full disk) is cut off the file again and thrown: the send is
   * not acknowledged, and the next line does not start inside its fragment.
   */
  append(line: string): void {
    this.appendWhole(Buffer.from(line), true);
  }

  /**
   * Marks a send as stored in Redis, so that a restart does not store it again (a send
   * stored twice is not harmless once its target was deactivated or its confirmation record
   * lapsed in between). Not synced: a mark lost in a crash only makes the send stored again,
   * as every mark was before it.
   */
  stored(id: string): void {
    this.appendWhole(
      Buffer.from(`${JSON.stringify({ stored: id } satisfies StoredMark)}\n`),
      false,
    );
  }

  /**
   * Appends `bytes`, synced when `sync`. A write that fails or falls short (a full disk) is
   * cut off the file again and thrown, so that the next line does not start inside its
   * fragment.
   */
  private appendWhole(bytes: Buffer, sync: boolean): void {
    const end = fstatSync(this.fd).size;
    try {
      const written = writeSync(this.fd, bytes);
      if (written !== bytes.length) {
        throw new Error(`spool write fell short: ${written} of ${bytes.length} bytes`);
      }
      if (sync) fsyncSync(this.fd);
    } catch (error) {
      try {
        ftruncateSync(this.fd, end);
      } catch {
        // The file keeps a fragment: a line that does not parse, skipped when read.
      }
      throw error;
    }
  }

  /** Replaces the file's content with `entries` (after a send was dropped). */
  rewrite(entries: QueuedSend[]): void {
    if (entries.length === 0) {
      this.clear();
      return;
    }
    const draft = join(this.dir, `.${SPOOL_PREFIX}.${this.owner}.jsonl.tmp`);
    writeFileSync(draft, entries.map(spoolLine).join(''), {
      flush: true,
    });
    renameSync(draft, this.file);
    closeSync(this.fd);
    this.fd = openSync(this.file, 'a');
    syncDirectory(this.dir);
  }

  clear(): void {
    ftruncateSync(this.fd, 0);
    fsyncSync(this.fd);
  }

  /**
   * Marks the lock alive. False when the lock is gone: another instance took this one for
   * dead (it was frozen past STALE_AFTER_MS) and adopted its file; the caller starts over.
   */
  heartbeat(now = new Date()): boolean {
    try {
      utimesSync(this.lock, now, now);
      return true;
    } catch (error) {
      if (isMissing(error)) return false;
      throw error;
    }
  }

  /**
   * Takes over the files of every owner that is gone, copies their sends into this file and
   * returns them, oldest first.
   */
  adoptAbandoned(now = Date.now()): QueuedSend[] {
    const adopted: string[] = [];
    const retired: string[] = [];
    for (const [owner, files] of filesByOwner(this.dir)) {
      if (owner === this.owner) continue;
      if (files.lock && ownerAlive(join(this.dir, files.lock), now)) continue;
      if (files.store !== '' && files.store !== this.tag) {
        // Another store's: its sends are not this instance's to store; an empty leftover of a
        // crash is only clutter.
        if (files.data.every((name) => isEmpty(join(this.dir, name))))
          retired.push(
            ...[files.lock, ...files.data].flatMap((name) => (name ? [join(this.dir, name)] : [])),
          );
        continue;
      }
      for (const name of files.data) {
        this.adoptions += 1;
        const taken = join(this.dir, `${SPOOL_PREFIX}.${this.owner}.adopt-${this.adoptions}.jsonl`);
        try {
          renameSync(join(this.dir, name), taken);
          adopted.push(taken);
        } catch (error) {
          // Another instance adopted it first.
          if (!isMissing(error)) throw error;
        }
      }
      if (files.lock) retired.push(join(this.dir, files.lock));
    }
    const entries = adopted.flatMap(readEntries);
    if (entries.length > 0) {
      writeSync(this.fd, entries.map(spoolLine).join(''));
      fsyncSync(this.fd);
    }
    for (const path of [...adopted, ...retired]) removeIfPresent(path);
    return entries;
  }

  /** Releases the file: removed when empty, else left for the next instance to adopt. */
  close(empty: boolean): void {
    closeSync(this.fd);
    if (empty) removeIfPresent(this.file);
    removeIfPresent(this.lock);
  }
}
