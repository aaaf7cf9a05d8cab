import { performance } from 'node:perf_hooks';
/** Latencies in milliseconds, summarised by nearest-rank percentiles. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Collects latency samples (milliseconds) without a size limit. */
export class LatencyRecorder {
  private values = new Float64Array(4096);
  private size = 0;

  record(milliseconds: number): void {
    if (this.size === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.size++] = milliseconds;
  }

  get count(): number {
    return this.size;
  }

  /** The samples recorded so far, in the order they came. */
  samples(): number[] {
    return Array.from(this.values.subarray(0, this.size));
  }

  summary(): LatencySummary {
    const sorted = this.values.slice(0, this.size).sort();
    const n = sorted.length;
    const at = (percent: number): number =>
      n === 0 ? NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil((percent / 100) * n) - 1))];
    let total = 0;
    for (const value of sorted) total += value;
    return {
      count: n,
      mean: n === 0 ? NaN : total / n,
      p50: at(50),
      p90: at(90),
      p99: at(99),
      max: n === 0 ? NaN : sorted[n - 1],
    };
  }
}

/** A Uint8Array that grows as indexes past its end are written. */
export class GrowableBytes {
  private bytes = new Uint8Array(1024);

  get(index: number): number {
    return index < this.bytes.length ? this.bytes[index] : 0;
  }

  set(index: number, value: number): void {
    this.ensure(index);
    this.bytes[index] = value;
  }

  /** Adds one, saturating at 255; returns the new value. */
  increment(index: number): number {
    this.ensure(index);
    if (this.bytes[index] < 255) this.bytes[index] += 1;
    return this.bytes[index];
  }

  private ensure(index: number): void {
    if (index < this.bytes.length) return;
    let length = this.bytes.length;
    while (length <= index) length *= 2;
    const grown = new Uint8Array(length);
    grown.set(this.bytes);
    this.bytes = grown;
  }
}

/** A Float64Array that grows as indexes past its end are written. */
export class GrowableNumbers {
  private numbers = new Float64Array(1024);

  get(index: number): number {
    return index < this.numbers.length ? this.numbers[index] : 0;
  }

  set(index: number, value: number): void {
    if (index >= this.numbers.length) {
      let length = this.numbers.length;
      while (length <= index) length *= 2;
      const grown = new Float64Array(length);
      grown.set(this.numbers);
      this.numbers = grown;
    }
    this.numbers[index] = value;
  }
}

export const sleep = (milliseconds: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, milliseconds));

/** `requests` calls of `call`, one at a time: their latencies (ms), and the last answer. */
export async function timedCalls<T>(
  requests: number,
  call: () => Promise<T>,
): Promise<{ latency: LatencyRecorder; last: T | null }> {
  const latency = new LatencyRecorder();
  let last: T | null = null;
  for (let index = 0; index < requests; index += 1) {
    const started = performance.now();
    last = await call();
    latency.record(performance.now() - started);
  }
  return { latency, last };
}
