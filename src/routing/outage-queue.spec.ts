import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddressingMode, MessagePriority } from '../messages/message.model';
import type { StoredMessage } from '../messages/stored-message';
import { OutageQueue, SPOOL_FILE } from './outage-queue';

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
    threadId: null,
  };
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
    expect(queue.add({ message: message('1'), idempotencyKey: null })).toBe(true);
    expect(queue.add({ message: message('2'), idempotencyKey: 'k' })).toBe(true);
    expect(queue.add({ message: message('3'), idempotencyKey: null })).toBe(false);
    expect(queue.peek()?.message.id).toBe('1');
    queue.shift();
    expect(queue.peek()).toEqual({ message: message('2'), idempotencyKey: 'k' });
    expect(queue.size).toBe(1);
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
    expect(readFileSync(join(dir, SPOOL_FILE), 'utf8')).toBe('');
    second.close();
    expect(new OutageQueue(10, dir).size).toBe(0);
  });

  it('ignores a last line cut short by a crash', () => {
    writeFileSync(
      join(dir, SPOOL_FILE),
      `${JSON.stringify({ message: message('1'), idempotencyKey: null })}\n{"message":{"id"`,
    );
    const queue = new OutageQueue(10, dir);
    expect(queue.size).toBe(1);
    queue.close();
  });
});
