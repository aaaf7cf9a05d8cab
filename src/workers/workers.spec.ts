import { autoWorkerCount, workerCount } from './workers';

describe(autoWorkerCount.name, () => {
  it('is one worker per core without a CPU quota', () => {
    expect(autoWorkerCount(8, null)).toBe(8);
    expect(autoWorkerCount(8, 'max 100000\n')).toBe(8);
    expect(autoWorkerCount(1, 'max 100000\n')).toBe(1);
  });

  it('is at most 64 however many cores there are', () => {
    expect(autoWorkerCount(96, null)).toBe(64);
    expect(autoWorkerCount(256, 'max 100000\n')).toBe(64);
    expect(autoWorkerCount(256, '12800000 100000\n')).toBe(64);
  });

  it("takes a container's CPU quota (cgroup v2 cpu.max) as its ceiling, rounded up", () => {
    // A pod limited to 2 CPUs on a 64-core node.
    expect(autoWorkerCount(64, '200000 100000\n')).toBe(2);
    // 1.5 CPUs: two workers, not one that leaves half a CPU unused.
    expect(autoWorkerCount(64, '150000 100000\n')).toBe(2);
    // 250m: one.
    expect(autoWorkerCount(64, '25000 100000\n')).toBe(1);
    // Another period than the default.
    expect(autoWorkerCount(64, '400000 50000')).toBe(8);
  });

  it('keeps the cores when the quota allows more than there are', () => {
    expect(autoWorkerCount(4, '800000 100000\n')).toBe(4);
  });

  it('ignores a cpu.max it cannot read', () => {
    expect(autoWorkerCount(4, '')).toBe(4);
    expect(autoWorkerCount(4, 'garbage')).toBe(4);
    expect(autoWorkerCount(4, '0 100000')).toBe(4);
  });
});

describe(workerCount.name, () => {
  it('takes a number as it is', () => {
    expect(workerCount('1')).toBe(1);
    expect(workerCount('64')).toBe(64);
  });

  it('resolves auto to between 1 and 64 on this machine', () => {
    const count = workerCount('auto');
    expect(count).toBeGreaterThanOrEqual(1);
    expect(count).toBeLessThanOrEqual(64);
  });
});
