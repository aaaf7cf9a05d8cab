import {
  DEFAULT_MERGE_BOUNDS,
  mergeById,
  TopicHistoryMerge,
  type MergeBounds,
  type TopicIdPager,
} from './topic-history-merge';

/** Ids shaped like ULIDs: a fixed-width time, then the topic, so they sort by time. */
function id(time: number, topic: string): string {
  return `${String(time).padStart(10, '0')}${topic}`;
}

/** Histories in memory, paged like page-ids.lua; records every page asked for. */
function histories(byTopic: Record<string, string[]>): {
  pager: TopicIdPager;
  calls: Array<{ topic: string; after: string; count: number }>;
} {
  const calls: Array<{ topic: string; after: string; count: number }> = [];
  const pager: TopicIdPager = (topic, after, count) => {
    calls.push({ topic, after, count });
    const history = byTopic[topic];
    if (history === undefined) throw new Error(`no history for ${topic}`);
    const newer = history.filter((candidate) => after === '0' || candidate > after);
    return Promise.resolve({ ids: newer.slice(0, count), hasNextPage: newer.length > count });
  };
  return { pager, calls };
}

async function drain(merge: TopicHistoryMerge, batch: number): Promise<string[]> {
  const out: string[] = [];
  for (let ids = await merge.next(batch); ids.length > 0; ids = await merge.next(batch)) {
    out.push(...ids);
  }
  return out;
}

describe(TopicHistoryMerge.name, () => {
  const small: MergeBounds = { idBudget: 6, minPerTopic: 2, maxPerTopic: 4, concurrency: 2 };

  it('gives every id of every topic once, in id order, across pages and batches', async () => {
    const byTopic = {
      a: [1, 4, 5, 9, 12, 13, 14].map((time) => id(time, 'a')),
      b: [2, 3, 10, 11].map((time) => id(time, 'b')),
      c: [6, 7, 8].map((time) => id(time, 'c')),
      empty: [],
    };
    const { pager } = histories(byTopic);
    const merge = await TopicHistoryMerge.open(Object.keys(byTopic), '0', pager, small);
    const all = await drain(merge, 3);
    expect(all).toEqual([...byTopic.a, ...byTopic.b, ...byTopic.c].sort());
    expect(await merge.next(3)).toEqual([]);
  });

  it('starts after the cursor in every topic', async () => {
    const byTopic = {
      a: [1, 5, 9].map((time) => id(time, 'a')),
      b: [2, 6, 10].map((time) => id(time, 'b')),
    };
    const { pager } = histories(byTopic);
    const merge = await TopicHistoryMerge.open(['a', 'b'], id(5, 'a'), pager, small);
    expect(await drain(merge, 10)).toEqual([id(6, 'b'), id(9, 'a'), id(10, 'b')]);
  });

  it('reads each topic a page at a time, from the last id it gave of it', async () => {
    const byTopic = { a: [1, 2, 3, 4, 5].map((time) => id(time, 'a')) };
    const { pager, calls } = histories(byTopic);
    const merge = await TopicHistoryMerge.open(['a'], '0', pager, small);
    expect(await drain(merge, 100)).toEqual(byTopic.a);
    expect(calls).toEqual([
      { topic: 'a', after: '0', count: 4 },
      { topic: 'a', after: id(4, 'a'), count: 4 },
    ]);
  });

  it('holds about the budget however many topics and ids there are', async () => {
    const topics = Array.from({ length: 50 }, (_, index) => `t${index}`);
    const byTopic = Object.fromEntries(
      topics.map((topic, index) => [
        topic,
        Array.from({ length: 40 }, (_, n) => id(n * 100 + index, topic)),
      ]),
    );
    const { pager, calls } = histories(byTopic);
    const bounds = { ...DEFAULT_MERGE_BOUNDS, idBudget: 200, maxPerTopic: 10 };
    const merge = await TopicHistoryMerge.open(topics, '0', pager, bounds);
    expect(merge.held).toBeLessThanOrEqual(200);
    const out: string[] = [];
    for (let ids = await merge.next(7); ids.length > 0; ids = await merge.next(7)) {
      expect(merge.held).toBeLessThanOrEqual(200);
      out.push(...ids);
    }
    expect(out).toEqual(Object.values(byTopic).flat().sort());
    expect(Math.max(...calls.map((call) => call.count))).toBe(4);
  });

  it('gives each topic at least the minimum page when there are more topics than budget', async () => {
    const topics = ['a', 'b', 'c', 'd'];
    const byTopic = Object.fromEntries(topics.map((topic) => [topic, [id(1, topic)]]));
    const { pager, calls } = histories(byTopic);
    const merge = await TopicHistoryMerge.open(topics, '0', pager, {
      ...small,
      idBudget: 1,
    });
    expect(calls.every((call) => call.count === small.minPerTopic)).toBe(true);
    expect(merge.topics).toBe(4);
    expect(await drain(merge, 2)).toEqual(topics.map((topic) => id(1, topic)));
  });
});

describe(mergeById.name, () => {
  const of = (...ids: string[]): Array<{ id: string; from?: string }> => ids.map((id) => ({ id }));

  it('interleaves two lists by id and keeps an id in both once, from the first', () => {
    const a = [
      { id: '1', from: 'a' },
      { id: '4', from: 'a' },
      { id: '6', from: 'a' },
    ];
    const b = [{ id: '2' }, { id: '4', from: 'b' }, { id: '5' }, { id: '7' }];
    expect(mergeById(a, b)).toEqual([
      { id: '1', from: 'a' },
      { id: '2' },
      { id: '4', from: 'a' },
      { id: '5' },
      { id: '6', from: 'a' },
      { id: '7' },
    ]);
  });

  it('returns either list whole when the other is empty', () => {
    expect(mergeById(of('1', '2'), [])).toEqual(of('1', '2'));
    expect(mergeById([], of('3'))).toEqual(of('3'));
  });
});
