/** The retry settings (docs/concepts/delivery-and-retries.md), in seconds. */
export interface RetryPolicy {
  /** Retries after the first attempt (ROUTER_MAX_RETRY_ATTEMPTS). */
  maxRetries: number;
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  exponentialBase: number;
  jitter: boolean;
}

/**
 * Seconds to wait after attempt `attempt` (1 = the first push) before the next decision:
 * retry n waits `min(BASE * EXPONENTIAL_BASE^(n-1), MAX)`. With jitter the wait is drawn
 * uniformly from [0, that] ("full jitter"), so it never exceeds MAX and synchronized
 * retries spread out. `random` is injectable for tests.
 */
export function retryDelaySeconds(
  policy: RetryPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, Math.floor(attempt));
  // BASE * EXP^(n-1) overflows to Infinity for large n; Math.min caps it, and the log form
  // avoids computing a huge power when the cap is reached anyway.
  let delay: number;
  if (policy.baseDelaySeconds === 0) {
    delay = 0;
  } else if (policy.exponentialBase <= 1) {
    delay = policy.baseDelaySeconds;
  } else {
    const exponentToCap =
      Math.log(policy.maxDelaySeconds / policy.baseDelaySeconds) / Math.log(policy.exponentialBase);
    delay =
      n - 1 >= exponentToCap
        ? policy.maxDelaySeconds
        : policy.baseDelaySeconds * policy.exponentialBase ** (n - 1);
  }
  delay = Math.min(delay, policy.maxDelaySeconds);
  if (policy.jitter) delay *= Math.min(Math.max(random(), 0), 1);
  return delay;
}

/** The waits after attempts 1 .. maxRetries + 1, in milliseconds, as the delivery scripts take them. */
export function retryDelayTableMs(
  policy: RetryPolicy,
  random: () => number = Math.random,
): number[] {
  return Array.from({ length: policy.maxRetries + 1 }, (_, index) =>
    Math.round(retryDelaySeconds(policy, index + 1, random) * 1000),
  );
}

/** Total attempts a delivery gets before it fails: the first plus the retries. */
export function maxAttempts(policy: RetryPolicy): number {
  return 1 + policy.maxRetries;
}
