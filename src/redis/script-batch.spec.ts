import { ScriptBatch } from './script-batch';

const turnEnd = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe(ScriptBatch.name, () => {
  it('runs the calls of one turn together, in order, and answers each its own', async () => {
    const runs: number[][] = [];
    const batch = new ScriptBatch<number, string>((items) => {
      runs.push(items);
      return Promise.resolve(items.map((item) => `answer ${item}`));
    }, 100);
    const answers = await Promise.all([1, 2, 3].map((item) => batch.add(item)));
    expect(runs).toEqual([[1, 2, 3]]);
    expect(answers).toEqual(['answer 1', 'answer 2', 'answer 3']);
  });

  it('takes in calls made from promise callbacks of the same turn', async () => {
    const runs: number[][] = [];
    const batch = new ScriptBatch<number, number>((items) => {
      runs.push(items);
      return Promise.resolve(items);
    }, 100);
    const later = (item: number, hops: number): Promise<number> => {
      let chain = Promise.resolve();
      for (let hop = 0; hop < hops; hop += 1) chain = chain.then(() => undefined);
      return chain.then(() => batch.add(item));
    };
    await Promise.all([later(1, 0), later(2, 5), later(3, 20)]);
    expect(runs).toEqual([[1, 2, 3]]);
  });

  it('takes in calls made by separate callbacks of one turn (sockets read together)', async () => {
    const runs: number[][] = [];
    const batch = new ScriptBatch<number, number>((items) => {
      runs.push(items);
      return Promise.resolve(items);
    }, 100);
    // Immediates queued together run in one check phase, as sockets read together run in one
    // poll phase: separate callbacks, each with its promise callbacks run after it, in one
    // turn. (Timers of 0 ms were used before, but on a busy machine the clock could pass one
    // millisecond between them, and they then ran in separate turns.)
    const calls = [1, 2, 3].map(
      (item) =>
        new Promise<number>((resolve) => {
          setImmediate(() => void Promise.resolve().then(() => resolve(batch.add(item))));
        }),
    );
    await Promise.all(calls);
    expect(runs).toEqual([[1, 2, 3]]);
  });

  it('runs the calls of separate turns separately', async () => {
    const runs: number[][] = [];
    const batch = new ScriptBatch<number, number>((items) => {
      runs.push(items);
      return Promise.resolve(items);
    }, 100);
    const first = batch.add(1);
    await turnEnd();
    await Promise.all([first, batch.add(2)]);
    expect(runs).toEqual([[1], [2]]);
  });

  it('splits a turn into runs of at most maxItems', async () => {
    const runs: number[][] = [];
    const batch = new ScriptBatch<number, number>((items) => {
      runs.push(items);
      return Promise.resolve(items.map((item) => item * 10));
    }, 2);
    const answers = await Promise.all([1, 2, 3, 4, 5].map((item) => batch.add(item)));
    expect(runs).toEqual([[1, 2], [3, 4], [5]]);
    expect(answers).toEqual([10, 20, 30, 40, 50]);
  });

  it('splits a large turn into four runs, each of at least 16', async () => {
    const sizes = async (count: number): Promise<number[]> => {
      const runs: number[] = [];
      const batch = new ScriptBatch<number, number>((items) => {
        runs.push(items.length);
        return Promise.resolve(items);
      }, 100);
      await Promise.all(Array.from({ length: count }, (_, item) => batch.add(item)));
      return runs;
    };
    expect(await sizes(100)).toEqual([25, 25, 25, 25]);
    expect(await sizes(40)).toEqual([16, 16, 8]);
    expect(await sizes(10)).toEqual([10]);
    expect(await sizes(800)).toEqual([100, 100, 100, 100, 100, 100, 100, 100]);
  });

  it('fails every call of a failed run, and only those', async () => {
    const batch = new ScriptBatch<number, number>(
      (items) =>
        items.includes(3) ? Promise.reject(new Error('connection lost')) : Promise.resolve(items),
      2,
    );
    const settled = await Promise.allSettled([1, 2, 3, 4].map((item) => batch.add(item)));
    expect(settled.map((entry) => entry.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
    ]);
  });

  it('fails the calls when the run throws at once or answers the wrong number', async () => {
    const throwing = new ScriptBatch<number, number>(() => {
      throw new Error('bad arguments');
    }, 10);
    await expect(throwing.add(1)).rejects.toThrow('bad arguments');
    const short = new ScriptBatch<number, number>(() => Promise.resolve([1]), 10);
    await expect(Promise.all([short.add(1), short.add(2)])).rejects.toThrow(
      '1 answers for 2 calls',
    );
  });
});
