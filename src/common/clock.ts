import { Injectable } from '@nestjs/common';

/**
 * The time, injected: code that decides by the time (retries, expiry, leases, grace periods)
 * asks this instead of Date.now(), so that a test can set the time rather than wait for it.
 */
@Injectable()
export class Clock {
  /** Epoch milliseconds. */
  now(): number {
    return Date.now();
  }
}

/** A clock for unit tests: it stands still until the test sets or advances it. */
export class ManualClock extends Clock {
  constructor(private current = 0) {
    super();
  }

  override now(): number {
    return this.current;
  }

  set(at: number): void {
    this.current = at;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
