import { AppError } from '../common/app-error';
import { approximateBytes } from './approximate-bytes';

/**
 * Ended a subscription whose consumer fell too far behind the live feed: RATE_LIMITED with
 * `reason: SLOW_CONSUMER`, since the client reads slower than its messages come.
 */
export class SlowConsumerError extends AppError {
  constructor(message: string) {
    super('RATE_LIMITED', message, { reason: 'SLOW_CONSUMER' });
  }
}

interface Waiter<T> {
  resolve: (result: IteratorResult<T>) => void;
  reject: (error: unknown) => void;
}

interface Entry<T> {
  value: T;
  bytes: number;
  /** Pushed by a live producer, not as part of a batch that waited for room(). */
  live: boolean;
}

/**
 * Bytes of live events a feed may hold behind its socket: the default of WS_MAX_BUFFERED_BYTES,
 * so that a lagging subscription holds at most about twice that (its socket, then its feed).
 */
export const DEFAULT_BYTE_LIMIT = 8 * 1024 * 1024;

/**
 * An async iterator that producers push into, for GraphQL subscriptions. Bounded by count
 * and by bytes: live producers cannot be slowed down (Redis pub/sub does not wait), so a
 * consumer that falls more than `limit` events, or more than `byteLimit` bytes of live
 * events, behind is ended with SlowConsumerError and resumes from its last id. A single
 * event larger than `byteLimit` is let through when nothing live is waiting before it.
 *
 * Producers that can wait (a replay from storage) await `room()` and then push their batch
 * in one synchronous run: such a batch is paced by the consumer and never counts as falling
 * behind, however many bytes it holds; the next batch waits for the consumer instead.
 */
export class PushIterator<T> implements AsyncIterableIterator<T> {
  private readonly buffer: Array<Entry<T>> = [];
  private readonly waiters: Array<Waiter<T>> = [];
  private roomWaiters: Array<() => void> = [];
  private failure: Error | null = null;
  private done = false;
  private bytes = 0;
  private liveBytes = 0;
  /** A producer was given room and has not pushed since. */
  private roomGiven = false;
  /** A batch pushed after room() is under way: it ends with the synchronous run. */
  private batchOpen = false;

  constructor(
    private readonly onClose: () => Promise<void> | void,
    private readonly limit = 10_000,
    private readonly byteLimit = DEFAULT_BYTE_LIMIT,
    private readonly sizeOf: (value: T) => number = approximateBytes,
  ) {}

  get closed(): boolean {
    return this.done;
  }

  push(value: T): void {
    if (this.done) return;
    const paced = this.inBatch();
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve({ value, done: false });
      return;
    }
    if (this.buffer.length >= this.limit) {
      this.overflow(`more than ${this.limit} messages`);
      return;
    }
    const bytes = this.sizeOf(value);
    if (!paced && this.liveBytes > 0 && this.liveBytes + bytes > this.byteLimit) {
      this.overflow(`more than ${this.byteLimit} bytes of messages`);
      return;
    }
    this.buffer.push({ value, bytes, live: !paced });
    this.bytes += bytes;
    if (!paced) this.liveBytes += bytes;
  }

  /** Resolves when the buffer is at most half full, by count and by bytes, or at once when it is. */
  async room(): Promise<void> {
    if (!this.done && !this.hasRoom()) {
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    this.roomGiven = true;
  }

  /** Ends the iterator with an error, delivered after what is already buffered. */
  fail(error: Error): void {
    if (this.done) return;
    this.failure = error;
    const waiters = this.waiters.splice(0);
    if (waiters.length > 0) {
      // Nothing buffered when someone is waiting: the error is next.
      for (const waiter of waiters) waiter.reject(error);
      this.failure = null;
    }
    void this.finish();
  }

  async next(): Promise<IteratorResult<T>> {
    const entry = this.buffer.shift();
    if (entry !== undefined) {
      this.bytes -= entry.bytes;
      if (entry.live) this.liveBytes -= entry.bytes;
      if (this.roomWaiters.length > 0 && this.hasRoom()) this.wakeProducers();
      return { value: entry.value, done: false };
    }
    if (this.failure !== null) {
      const error = this.failure;
      this.failure = null;
      throw error;
    }
    if (this.done) return { value: undefined, done: true };
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  async return(): Promise<IteratorResult<T>> {
    this.buffer.length = 0;
    this.bytes = 0;
    this.liveBytes = 0;
    this.failure = null;
    await this.finish();
    return { value: undefined, done: true };
  }

  async throw(error?: unknown): Promise<IteratorResult<T>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }

  private hasRoom(): boolean {
    return this.buffer.length <= this.limit / 2 && this.bytes <= this.byteLimit / 2;
  }

  /** Whether this push belongs to a batch that waited for room(). */
  private inBatch(): boolean {
    if (this.roomGiven) {
      this.roomGiven = false;
      this.batchOpen = true;
      queueMicrotask(() => {
        this.batchOpen = false;
      });
    }
    return this.batchOpen;
  }

  private overflow(what: string): void {
    this.fail(
      new SlowConsumerError(
        `subscription ended: ${what} waiting to be read; resubscribe with after = the last id received`,
      ),
    );
  }

  private wakeProducers(): void {
    const waiting = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiting) wake();
  }

  private async finish(): Promise<void> {
    if (this.done) return;
    this.done = true;
    for (const waiter of this.waiters.splice(0)) waiter.resolve({ value: undefined, done: true });
    this.wakeProducers();
    await this.onClose();
  }
}
