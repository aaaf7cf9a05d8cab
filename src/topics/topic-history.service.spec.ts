import { decodeTime, encodeTime } from 'ulid';
import type { MessageRepository } from '../messages/message.repository';
import { TopicHistoryService } from './topic-history.service';
import type { TopicActivity, TopicRepository } from './topic.repository';

/** An id of time `ms`, told apart by its last character. */
const id = (ms: number, tail = '0'): string => encodeTime(ms, 10) + tail.padStart(16, '0');

/** Topics with their ids, as the index and the histories hold them. */
function history(topics: Record<string, string[]>): {
  service: TopicHistoryService;
  read: string[];
} {
  const read: string[] = [];
  // The index scores a topic by its last message, even once its history has emptied.
  const last: Record<string, number> = { 'a.empty': 9_000 };
  for (const [name, ids] of Object.entries(topics)) {
    last[name] ??= Math.max(...ids.map((each) => decodeTime(each)));
  }
  const repository = {
    newestActive(): AsyncGenerator<TopicActivity[]> {
      const entries = Object.entries(last)
        .map(([name, score]) => ({ name, score }))
        .sort((x, y) => y.score - x.score);
      // One chunk, as Redis would give a small index.
      return (async function* () {
        yield await Promise.resolve(entries);
      })();
    },
    newestIds(topic: string, count: number): Promise<string[]> {
      read.push(topic);
      return Promise.resolve([...(topics[topic] ?? [])].sort().reverse().slice(0, count));
    },
  } as unknown as TopicRepository;
  return { service: new TopicHistoryService(repository, {} as MessageRepository), read };
}

describe('TopicHistoryService.newestIds', () => {
  it('reads topics latest first until the next is older than the newest found', async () => {
    const { service, read } = history({
      'a.one': [id(5_000), id(8_000)],
      'a.two': [id(7_000), id(6_000)],
      'a.old': [id(1_000)],
      'b.other': [id(8_500)],
    });
    expect(await service.newestIds('a.*', 3)).toEqual([id(8_000), id(7_000), id(6_000)]);
    // a.empty (scored 9000, its messages gone) gave nothing and was passed; a.old, whose last
    // message is older than the third newest, was not read; b.other does not match.
    expect(read).toEqual(['a.empty', 'a.one', 'a.two']);
  });

  it('goes on past a topic whose history has emptied, which holds none of the newest', async () => {
    const { service } = history({ 'a.one': [id(8_000)], 'a.two': [id(7_000)] });
    expect(await service.newestIds('a.*', 2)).toEqual([id(8_000), id(7_000)]);
  });

  it('reads every matching topic when they hold fewer than asked', async () => {
    const { service, read } = history({ 'a.one': [id(2_000)], 'a.old': [id(1_000)] });
    expect(await service.newestIds('a.#', 5)).toEqual([id(2_000), id(1_000)]);
    expect(read.sort()).toEqual(['a.empty', 'a.old', 'a.one']);
  });

  it('reads a topic without a wildcard alone, without the index', async () => {
    const { service, read } = history({ 'a.one': [id(2_000), id(3_000)] });
    expect(await service.newestIds('a.one', 1)).toEqual([id(3_000)]);
    expect(read).toEqual(['a.one']);
  });
});
