/** Ended a subscription whose consumer fell too far behind the live feed. */
export class SlowConsumerError extends Error {}

interface Waiter<T> {
  resolve: (result: IteratorResult<T>) => void;
  reject: (error: unknown) => void;
}

/**
 * An async iterator that producers push into, for GraphQL subscriptions. Bounded: live
 * producers cannot be slowed down (Redis pub/sub does not wait), so a consumer that falls
 * more than `limit` events behind is ended with SlowConsumerError and resumes from its last
 * id. Producers that can wait (a replay from storage) await `room()` first.
 */
export class PushIterator<T> implements AsyncIterableIterator<T> {
  private readonly buffer: T[] = [];
  private readonly waiters: Array<Waiter<T>> = [];
  private roomWaiters: Array<() => void> = [];
  private failure: Error | null = null;
  private done = false;

  constructor(
    private readonly onClose: () => Promise<void> | void,
    private readonly limit = 10_000,
  ) {}

  get closed(): boolean {
    return this.done;
  }

  push(value: T): void {
    if (this.done) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter.resolve({ value, done: false });
      return;
    }
    if (this.buffer.length >= this.limit) {
      this.fail(
        new SlowConsumerError(
          `subscription ended: more than ${this.limit} messages waiting to be read; resubscribe with after = the last id received`,
        ),
      );
      return;
    }
    this.buffer.push(value);
  }

  /** Resolves when the buffer is at most half full, or at once when it is. */
  async room(): Promise<void> {
    if (this.done || this.buffer.length <= this.limit / 2) return;
    await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
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
    const value = this.buffer.shift();
    if (value !== undefined) {
      if (this.roomWaiters.length > 0 && this.buffer.length <= this.limit / 2) this.wakeProducers();
      return { value, done: false };
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
