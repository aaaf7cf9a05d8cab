import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressingMode, MessagePriority } from '../messages/message.model';
import type { StoredMessage } from '../messages/stored-message';
import { OutageQueue } from './outage-queue';
import { Spool, STALE_AFTER_MS, storeTag } from './outage-spool';

/** The owner id of another instance of the default store. */
const ownerOf = (pidAndSuffix: string): string => `${storeTag('')}-${pidAndSuffix}`;

function message(id: string): StoredMessage {
  return {
    id,
    sender: 'a',
    mode: AddressingMode.DIRECT,
    target: 'b',
    content: `c ${id}`,
    contentType: 'text/plain',
    subject: null,
    metadata: { n: 1 },
    priority: MessagePriority.NORMAL,
    createdAt: 1,
    expiresAt: null,
    requireConfirmation: false,
    correlationId: null,
    replyTo: null,
    threadId: id,
    inReplyTo: null,
    replyBy: null,
    hop: 0,
  };
}

function ids(queue: OutageQueue): string[] {
  const seen: string[] = [];
  while (queue.peek()) {
    seen.push(queue.peek()!.message.id);
    queue.shift();
  }
  return seen;
}

describe(OutageQueue.name, () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spool-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps arrival order and refuses past its bound', () => {
    const queue = new OutageQueue(2, null);
    expect(queue.add({ message: message('1'), idempotencyKey: null })).toBeNull();
    expect(queue.add({ message: message('2'), idempotencyKey: 'k' })).toBeNull();
    expect(queue.add({ message: message('3'), idempotencyKey: null })).toBe('sends');
    expect(queue.peek()?.message.id).toBe('1');
    queue.shift();
    expect(queue.peek()).toEqual({ message: message('2'), idempotencyKey: 'k' });
    expect(queue.size).toBe(1);
  });

  it('refuses a send past its bytes, and takes sends again as stored ones free their room', () => {
    const line = (id: string, content: string) =>
      Buffer.byteLength(
        `${JSON.stringify({ message: { ...message(id), content }, idempotencyKey: null })}\n`,
      );
    const big = 'x'.repeat(1_000);
    const queue = new OutageQueue(100, dir, '', line('1', big) + line('2', big) + 10);
    expect(
      queue.add({ message: { ...message('1'), content: big }, idempotencyKey: null }),
    ).toBeNull();
    expect(
      queue.add({ message: { ...message('2'), content: big }, idempotencyKey: null }),
    ).toBeNull();
    expect(queue.add({ message: { ...message('3'), content: big }, idempotencyKey: null })).toBe(
      'bytes',
    );
    // Refused: not in the spool either.
    expect(readFileSync(queue.spoolFile!, 'utf8').trimEnd().split('\n')).toHaveLength(2);
    expect(queue.bytes).toBe(line('1', big) + line('2', big));
    queue.shift();
    expect(queue.bytes).toBe(line('2', big));
    expect(
      queue.add({ message: { ...message('3'), content: big }, idempotencyKey: null }),
    ).toBeNull();
    queue.close();
  });

  it("finds the send waiting with a sender's idempotency key, until it is stored, and after a restart", () => {
    const first = new OutageQueue(10, dir);
    first.add({ message: message('1'), idempotencyKey: 'k' });
    first.add({ message: message('2'), idempotencyKey: null });
    expect(first.withKey('a', 'k')?.message.id).toBe('1');
    expect(first.withKey('other', 'k')).toBeUndefined();
    first.close();
    const second = new OutageQueue(10, dir);
    expect(second.withKey('a', 'k')?.message.id).toBe('1');
    second.shift();
    expect(second.withKey('a', 'k')).toBeUndefined();
    second.close();
  });

  it('survives a restart through its spool, and empties the spool once flushed', () => {
    const first = new OutageQueue(10, dir);
    first.add({ message: message('1'), idempotencyKey: null });
    first.add({ message: message('2'), idempotencyKey: null });
    first.close();

    const second = new OutageQueue(10, dir);
    expect(second.size).toBe(2);
    expect(second.peek()?.message).toEqual(message('1'));
    second.shift();
    second.shift();
    expect(readFileSync(second.spoolFile!, 'utf8')).toBe('');
    second.close();
    // Closed empty: nothing is left behind in the directory.
    expect(readdirSync(dir)).toEqual([]);
    expect(new OutageQueue(10, dir).size).toBe(0);
  });

  it('does not store again, after a restart, the sends stored before it', () => {
    const first = new OutageQueue(10, dir);
    for (const id of ['1', '2', '3']) first.add({ message: message(id), idempotencyKey: null });
    first.shift();
    first.close();

    const second = new OutageQueue(10, dir);
    expect(second.peek()?.message.id).toBe('2');
    second.shift();
    second.close();
    expect(ids(new OutageQueue(10, dir))).toEqual(['3']);
  });

  it('keeps its file to the sends waiting and a bounded number of marks while it never empties', () => {
    const queue = new OutageQueue(2_000, dir);
    for (let i = 0; i < 1_100; i++) queue.add({ message: message(`m${i}`), idempotencyKey: null });
    for (let i = 0; i < 1_050; i++) queue.shift();
    const lines = readFileSync(queue.spoolFile!, 'utf8').trimEnd().split('\n');
    // Rewritten with the 99 waiting at the 1,001st send stored, then 49 marks.
    expect(lines.length).toBe(99 + 49);
    queue.close();
    const waiting = ids(new OutageQueue(2_000, dir));
    expect(waiting).toEqual(Array.from({ length: 50 }, (_, i) => `m${1_050 + i}`));
  });

  it('does not try a dropped send again after a restart', () => {
    const first = new OutageQueue(10, dir);
    for (const id of ['1', '2', '3']) first.add({ message: message(id), idempotencyKey: null });
    first.shift();
    first.drop();
    first.close();

    expect(ids(new OutageQueue(10, dir))).toEqual(['3']);
  });

  it('takes in the unowned spool file of an earlier version, ignoring a last line cut short by a crash', () => {
    writeFileSync(
      join(dir, 'outage-queue.jsonl'),
      `${JSON.stringify({ message: message('1'), idempotencyKey: null })}\n{"message":{"id"`,
    );
    const queue = new OutageQueue(10, dir);
    expect(queue.size).toBe(1);
    expect(readdirSync(dir)).not.toContain('outage-queue.jsonl');
    queue.close();
  });
});

/** A pid that ran and has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid;
}

/** The spool of another instance, as it left it: a lock (unless none) and a file of sends. */
function otherInstance(
  dir: string,
  owner: string,
  lock: { pid: number; host: string; nonce: string } | null,
  ids: string[],
): void {
  if (lock) writeFileSync(join(dir, `outage-queue.${owner}.lock`), JSON.stringify(lock));
  writeFileSync(
    join(dir, `outage-queue.${owner}.jsonl`),
    ids.map((id) => `${JSON.stringify({ message: message(id), idempotencyKey: null })}\n`).join(''),
  );
}

describe(Spool.name, () => {
  let dir: string;
  const open: OutageQueue[] = [];

  function queue(store = ''): OutageQueue {
    const created = new OutageQueue(100, dir, store);
    open.push(created);
    return created;
  }

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spool-'));
  });

  afterEach(() => {
    for (const created of open.splice(0)) created.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives two queues on one directory separate files, and neither takes the sends of the other', () => {
    const first = queue();
    const second = queue();
    expect(first.spoolFile).not.toBe(second.spoolFile);
    first.add({ message: message('a1'), idempotencyKey: null });
    second.add({ message: message('b1'), idempotencyKey: null });

    // Both alive: a third one started now, and the upkeep of each, leave them alone.
    expect(queue().size).toBe(0);
    expect(first.maintain()).toBe(0);
    expect(second.maintain()).toBe(0);
    expect(first.size).toBe(1);
    expect(second.size).toBe(1);
    expect(first.peek()?.message.id).toBe('a1');
    expect(second.peek()?.message.id).toBe('b1');
  });

  it('adopts the file of an owner whose process has exited, and removes its lock and file', () => {
    otherInstance(dir, ownerOf('4242-dead'), { pid: deadPid(), host: hostname(), nonce: 'n' }, [
      '1',
      '2',
    ]);
    const adopter = queue();
    expect(readdirSync(dir).filter((name) => name.includes(ownerOf('4242-dead')))).toEqual([]);
    expect(ids(adopter)).toEqual(['1', '2']);
  });

  it('adopts the file left by an earlier process with its own pid (a restarted container)', () => {
    otherInstance(
      dir,
      ownerOf(`${process.pid}-01d`),
      { pid: process.pid, host: hostname(), nonce: 'gone' },
      ['1'],
    );
    expect(ids(queue())).toEqual(['1']);
  });

  it("leaves another host's spool alone while its owner marks it alive, and adopts it once it stops", () => {
    otherInstance(dir, ownerOf('1-07e4'), { pid: 1, host: 'another-host', nonce: 'n' }, ['1']);
    const running = queue();
    expect(running.size).toBe(0);
    expect(existsSync(join(dir, `outage-queue.${ownerOf('1-07e4')}.jsonl`))).toBe(true);

    const past = new Date(Date.now() - STALE_AFTER_MS - 1_000);
    utimesSync(join(dir, `outage-queue.${ownerOf('1-07e4')}.lock`), past, past);
    expect(running.maintain()).toBe(1);
    expect(ids(running)).toEqual(['1']);
  });

  it('leaves alone the spool of an instance of another store (another Redis or key prefix), even once it is gone', () => {
    const other = 'redis://10.0.0.9:6379 prefix b:';
    const elsewhere = queue(other);
    elsewhere.add({ message: message('elsewhere'), idempotencyKey: null });
    elsewhere.close();

    const here = queue();
    expect(here.size).toBe(0);
    expect(here.maintain()).toBe(0);
    expect(ids(queue(other))).toEqual(['elsewhere']);
  });

  it("clears away the empty files of another store's instance that crashed", () => {
    const pid = deadPid();
    otherInstance(dir, `ffffffff-${pid}-0`, { pid, host: hostname(), nonce: 'n' }, []);
    queue();
    expect(readdirSync(dir).filter((name) => name.includes('ffffffff'))).toEqual([]);
  });

  it('takes in, while running, the sends of an instance that stopped with sends left', () => {
    const running = queue();
    running.add({ message: message('own'), idempotencyKey: null });
    const stopped = new OutageQueue(100, dir);
    stopped.add({ message: message('left'), idempotencyKey: null });
    stopped.close();

    expect(running.maintain()).toBe(1);
    expect(ids(running)).toEqual(['own', 'left']);
  });

  it('starts a new file with every send it holds when another instance took it for dead', () => {
    const frozen = queue();
    frozen.add({ message: message('1'), idempotencyKey: null });
    const adopter = queue();
    // As if `frozen` had missed its heartbeats: `adopter` takes its file.
    const past = new Date(Date.now() - STALE_AFTER_MS - 1_000);
    const lock = frozen.spoolFile!.replace(/\.jsonl$/, '.lock');
    utimesSync(lock, past, past);
    expect(adopter.maintain()).toBe(1);

    frozen.maintain();
    frozen.add({ message: message('2'), idempotencyKey: null });
    frozen.close();
    adopter.close();
    // Sent twice at worst (idempotent by message id), never lost.
    expect(new Set(ids(queue()))).toEqual(new Set(['1', '2']));
  });
});
