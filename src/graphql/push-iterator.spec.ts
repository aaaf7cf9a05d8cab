import { PushIterator, SlowConsumerError } from './push-iterator';

/** Lets every promise that can settle now settle, so that a still-pending one is truly waiting. */
async function settle(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Tracks whether a promise has settled, without awaiting it. */
function watch<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let settled = false;
  const tracked = promise.then(
    (value) => {
      settled = true;
      return value;
    },
    (error: unknown) => {
      settled = true;
      throw error;
    },
  );
  return { settled: () => settled, promise: tracked };
}

function counting(): { onClose: () => void; calls: () => number } {
  let calls = 0;
  return {
    onClose: () => {
      calls += 1;
    },
    calls: () => calls,
  };
}

describe(PushIterator.name, () => {
  it('yields values in the order they were pushed', async () => {
    const iterator = new PushIterator<number>(() => undefined);
    iterator.push(1);
    iterator.push(2);
    iterator.push(3);

    expect(await iterator.next()).toEqual({ value: 1, done: false });
    expect(await iterator.next()).toEqual({ value: 2, done: false });
    expect(await iterator.next()).toEqual({ value: 3, done: false });
  });

  it('keeps falsy values', async () => {
    const iterator = new PushIterator<number | string | null>(() => undefined);
    iterator.push(0);
    iterator.push('');
    iterator.push(null);

    expect(await iterator.next()).toEqual({ value: 0, done: false });
    expect(await iterator.next()).toEqual({ value: '', done: false });
    expect(await iterator.next()).toEqual({ value: null, done: false });
  });

  it('makes next() wait for a later push', async () => {
    const iterator = new PushIterator<string>(() => undefined);
    const pending = watch(iterator.next());
    await settle();
    expect(pending.settled()).toBe(false);

    iterator.push('late');

    await expect(pending.promise).resolves.toEqual({ value: 'late', done: false });
  });

  it('serves several waiting next() calls in push order', async () => {
    const iterator = new PushIterator<string>(() => undefined);
    const first = iterator.next();
    const second = iterator.next();

    iterator.push('a');
    iterator.push('b');

    expect(await first).toEqual({ value: 'a', done: false });
    expect(await second).toEqual({ value: 'b', done: false });
  });

  it('works with for await', async () => {
    const iterator = new PushIterator<number>(() => undefined);
    iterator.push(1);
    iterator.push(2);
    iterator.fail(new Error('stop'));
    const seen: number[] = [];

    await expect(
      (async () => {
        for await (const value of iterator) seen.push(value);
      })(),
    ).rejects.toThrow('stop');
    expect(seen).toEqual([1, 2]);
  });

  describe('return()', () => {
    it('calls onClose once and ends the iteration', async () => {
      const close = counting();
      const iterator = new PushIterator<number>(close.onClose);
      iterator.push(1);

      expect(await iterator.return()).toEqual({ value: undefined, done: true });
      expect(await iterator.return()).toEqual({ value: undefined, done: true });

      expect(close.calls()).toBe(1);
      expect(iterator.closed).toBe(true);
      expect(await iterator.next()).toEqual({ value: undefined, done: true });
    });

    it('ignores pushes after it', async () => {
      const iterator = new PushIterator<number>(() => undefined);
      await iterator.return();

      iterator.push(1);

      expect(await iterator.next()).toEqual({ value: undefined, done: true });
    });

    it('resolves a pending next() as done', async () => {
      const iterator = new PushIterator<number>(() => undefined);
      const pending = iterator.next();

      await iterator.return();

      await expect(pending).resolves.toEqual({ value: undefined, done: true });
    });

    it('waits for an asynchronous onClose', async () => {
      let closed = false;
      const iterator = new PushIterator<number>(async () => {
        await settle();
        closed = true;
      });

      await iterator.return();

      expect(closed).toBe(true);
    });

    it('is called once when a for await loop breaks', async () => {
      const close = counting();
      const iterator = new PushIterator<number>(close.onClose);
      iterator.push(1);
      iterator.push(2);

      for await (const value of iterator) {
        expect(value).toBe(1);
        break;
      }

      expect(close.calls()).toBe(1);
      expect(iterator.closed).toBe(true);
    });
  });

  describe('overflow', () => {
    it('ends with SlowConsumerError after the buffered values are read', async () => {
      const close = counting();
      const iterator = new PushIterator<number>(close.onClose, 3);
      iterator.push(1);
      iterator.push(2);
      iterator.push(3);
      expect(iterator.closed).toBe(false);

      iterator.push(4);

      expect(iterator.closed).toBe(true);
      expect(close.calls()).toBe(1);
      expect(await iterator.next()).toEqual({ value: 1, done: false });
      expect(await iterator.next()).toEqual({ value: 2, done: false });
      expect(await iterator.next()).toEqual({ value: 3, done: false });
      await expect(iterator.next()).rejects.toBeInstanceOf(SlowConsumerError);
      expect(await iterator.next()).toEqual({ value: undefined, done: true });
    });

    it('tells the consumer how to resume', async () => {
      const iterator = new PushIterator<number>(() => undefined, 1);
      iterator.push(1);
      iterator.push(2);
      await iterator.next();

      await expect(iterator.next()).rejects.toThrow(/more than 1 messages.*after/);
    });

    it('does not end a consumer that keeps up', async () => {
      const iterator = new PushIterator<number>(() => undefined, 2);
      for (let value = 0; value < 10; value += 1) {
        iterator.push(value);
        expect(await iterator.next()).toEqual({ value, done: false });
      }

      expect(iterator.closed).toBe(false);
    });
  });

  describe('byte bound', () => {
    /** An iterator of strings counted by their length, at most `bytes` of live ones behind. */
    function strings(bytes: number, onClose: () => void = () => undefined): PushIterator<string> {
      return new PushIterator<string>(onClose, 10_000, bytes, (value) => value.length);
    }

    it('ends a consumer more than the byte limit of live values behind, after what is buffered', async () => {
      const close = counting();
      const iterator = strings(10, close.onClose);
      iterator.push('aaaa');
      iterator.push('bbbb');
      expect(iterator.closed).toBe(false);

      iterator.push('ccc');

      expect(iterator.closed).toBe(true);
      expect(close.calls()).toBe(1);
      expect(await iterator.next()).toEqual({ value: 'aaaa', done: false });
      expect(await iterator.next()).toEqual({ value: 'bbbb', done: false });
      await expect(iterator.next()).rejects.toThrow(
        /more than 10 bytes of messages waiting to be read; resubscribe with after = the last id/,
      );
    });

    it('lets one value larger than the limit through when nothing live waits before it', async () => {
      const iterator = strings(10);

      iterator.push('x'.repeat(100));

      expect(iterator.closed).toBe(false);
      expect(await iterator.next()).toEqual({ value: 'x'.repeat(100), done: false });
    });

    it('does not end a consumer that keeps up with large values', async () => {
      const iterator = strings(10);
      for (let round = 0; round < 10; round += 1) {
        iterator.push('y'.repeat(8));
        expect(await iterator.next()).toEqual({ value: 'y'.repeat(8), done: false });
      }

      expect(iterator.closed).toBe(false);
    });

    it('does not count a batch pushed after room() as falling behind, however large', async () => {
      const iterator = strings(10);
      await iterator.room();

      for (const value of ['aaaa', 'bbbb', 'cccc', 'dddd']) iterator.push(value);

      expect(iterator.closed).toBe(false);
      const seen: string[] = [];
      for (let count = 0; count < 4; count += 1) seen.push((await iterator.next()).value as string);
      expect(seen).toEqual(['aaaa', 'bbbb', 'cccc', 'dddd']);
    });

    it('counts what is pushed live once the batch has been pushed', async () => {
      const iterator = strings(10);
      await iterator.room();
      iterator.push('a'.repeat(20));
      await settle();

      iterator.push('bbbbbb');
      expect(iterator.closed).toBe(false);
      iterator.push('cccccc');

      expect(iterator.closed).toBe(true);
    });

    it('makes room() wait while more than half the byte limit is buffered', async () => {
      const iterator = strings(10);
      iterator.push('aaaa');
      iterator.push('bbbb');

      const room = watch(iterator.room());
      await settle();
      expect(room.settled()).toBe(false);

      await iterator.next();
      await settle();

      expect(room.settled()).toBe(true);
    });

    it('measures values by their approximate JSON size by default', async () => {
      const iterator = new PushIterator<{ content: string }>(() => undefined, 10_000, 1000);
      iterator.push({ content: 'x'.repeat(600) });
      expect(iterator.closed).toBe(false);

      iterator.push({ content: 'y'.repeat(600) });

      expect(iterator.closed).toBe(true);
      expect(await iterator.next()).toEqual({ value: { content: 'x'.repeat(600) }, done: false });
      await expect(iterator.next()).rejects.toBeInstanceOf(SlowConsumerError);
    });
  });

  describe('fail()', () => {
    it('delivers the error after the buffered values', async () => {
      const close = counting();
      const iterator = new PushIterator<string>(close.onClose);
      const failure = new Error('redis went away');
      iterator.push('a');
      iterator.push('b');

      iterator.fail(failure);
      iterator.push('ignored');

      expect(close.calls()).toBe(1);
      expect(await iterator.next()).toEqual({ value: 'a', done: false });
      expect(await iterator.next()).toEqual({ value: 'b', done: false });
      await expect(iterator.next()).rejects.toBe(failure);
      expect(await iterator.next()).toEqual({ value: undefined, done: true });
    });

    it('rejects a pending next() at once', async () => {
      const iterator = new PushIterator<string>(() => undefined);
      const failure = new Error('boom');
      const pending = iterator.next();

      iterator.fail(failure);

      await expect(pending).rejects.toBe(failure);
      expect(await iterator.next()).toEqual({ value: undefined, done: true });
    });

    it('is dropped by return()', async () => {
      const iterator = new PushIterator<string>(() => undefined);
      iterator.push('a');
      iterator.fail(new Error('boom'));

      await iterator.return();

      expect(await iterator.next()).toEqual({ value: undefined, done: true });
    });
  });

  describe('room()', () => {
    it('resolves at once while the buffer is at most half full', async () => {
      const iterator = new PushIterator<number>(() => undefined, 4);
      iterator.push(1);
      iterator.push(2);

      const room = watch(iterator.room());
      await settle();

      expect(room.settled()).toBe(true);
    });

    it('waits while more than half full until the consumer drains to half', async () => {
      const iterator = new PushIterator<number>(() => undefined, 6);
      for (const value of [1, 2, 3, 4, 5]) iterator.push(value);

      const room = watch(iterator.room());
      await settle();
      expect(room.settled()).toBe(false);

      await iterator.next();
      await settle();
      expect(room.settled()).toBe(false);

      await iterator.next();
      await settle();
      expect(room.settled()).toBe(true);
    });

    it('resolves a waiting producer when the iterator is returned', async () => {
      const iterator = new PushIterator<number>(() => undefined, 2);
      iterator.push(1);
      iterator.push(2);
      const room = watch(iterator.room());
      await settle();
      expect(room.settled()).toBe(false);

      await iterator.return();
      await settle();

      expect(room.settled()).toBe(true);
    });

    it('resolves at once once the iterator is closed', async () => {
      const iterator = new PushIterator<number>(() => undefined, 2);
      iterator.push(1);
      iterator.push(2);
      iterator.fail(new Error('boom'));

      const room = watch(iterator.room());
      await settle();

      expect(room.settled()).toBe(true);
    });
  });
});
