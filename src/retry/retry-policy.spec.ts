import {
  maxAttempts,
  retryDelaySeconds,
  retryDelayTableMs,
  type RetryPolicy,
} from './retry-policy';

const policy: RetryPolicy = {
  maxRetries: 3,
  baseDelaySeconds: 1,
  maxDelaySeconds: 60,
  exponentialBase: 2,
  jitter: false,
};

describe(retryDelaySeconds.name, () => {
  it('waits BASE after the first attempt', () => {
    expect(retryDelaySeconds(policy, 1)).toBe(1);
  });

  it('grows by EXPONENTIAL_BASE per retry: 1, 2, 4, 8, 16, 32, then the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => retryDelaySeconds(policy, n))).toEqual([
      1, 2, 4, 8, 16, 32, 60, 60,
    ]);
  });

  it('caps very large attempt numbers at the maximum without overflow', () => {
    for (const n of [50, 1_024, 1e6, Number.MAX_SAFE_INTEGER]) {
      const delay = retryDelaySeconds(policy, n);
      expect(Number.isFinite(delay)).toBe(true);
      expect(delay).toBe(60);
    }
  });

  it('handles fractional seconds exactly', () => {
    const fast = { ...policy, baseDelaySeconds: 0.2, maxDelaySeconds: 1.5, exponentialBase: 1.5 };
    expect(retryDelaySeconds(fast, 1)).toBeCloseTo(0.2, 10);
    expect(retryDelaySeconds(fast, 2)).toBeCloseTo(0.3, 10);
    expect(retryDelaySeconds(fast, 3)).toBeCloseTo(0.45, 10);
    expect(retryDelaySeconds(fast, 10)).toBe(1.5);
  });

  it('keeps jitter within [0, the un-jittered delay], and so within [0, MAX]', () => {
    const jittery = { ...policy, jitter: true };
    for (const random of [0, 0.25, 0.999999, 1]) {
      for (const n of [1, 3, 7, 40]) {
        const delay = retryDelaySeconds(jittery, n, () => random);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(retryDelaySeconds(policy, n));
        expect(delay).toBeLessThanOrEqual(60);
      }
    }
    // A random source out of range cannot push it past the bounds.
    expect(retryDelaySeconds(jittery, 40, () => 7)).toBe(60);
    expect(retryDelaySeconds(jittery, 40, () => -1)).toBe(0);
  });

  it('spreads jittered delays instead of synchronizing them', () => {
    const jittery = { ...policy, jitter: true };
    const draws = new Set(Array.from({ length: 50 }, () => retryDelaySeconds(jittery, 5)));
    expect(draws.size).toBeGreaterThan(40);
  });

  it('treats attempt numbers below 1 as the first', () => {
    expect(retryDelaySeconds(policy, 0)).toBe(1);
    expect(retryDelaySeconds(policy, -3)).toBe(1);
  });

  it('stays constant with an exponential base of 1 and zero with a zero base', () => {
    expect(retryDelaySeconds({ ...policy, exponentialBase: 1 }, 9)).toBe(1);
    expect(retryDelaySeconds({ ...policy, baseDelaySeconds: 0 }, 9)).toBe(0);
  });

  it('never exceeds MAX even when BASE is above it', () => {
    expect(retryDelaySeconds({ ...policy, baseDelaySeconds: 90 }, 1)).toBe(60);
  });
});

describe(retryDelayTableMs.name, () => {
  it('lists the wait after each attempt in milliseconds, one per attempt', () => {
    expect(retryDelayTableMs(policy)).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelayTableMs(policy)).toHaveLength(maxAttempts(policy));
  });
});
