import { ManualClock } from '../common/clock';
import type { AppConfigService } from '../config/app-config.service';
import { AddressingMode } from '../messages/message.model';
import { threadKey } from '../messages/thread-key';
import type { TopicRepository } from '../topics/topic.repository';
import type { CleanupRepository, ExpiredEntry } from './cleanup.repository';
import type { RetentionRepository } from './retention.repository';
import { TopicRetentionService } from './topic-retention.service';

/**
 * Topic histories in memory (ids oldest first), behind the calls the pass makes. Each purge
 * takes `purgeMs` of the clock, so that a test can run a pass out of time.
 */
function topics(
  histories: Record<string, string[]>,
  options: { limit: number; purgeMs?: number; threads?: Record<string, string | null> },
) {
  const clock = new ManualClock(1_000);
  const purged: ExpiredEntry[] = [];
  const visited: string[] = [];
  let cursor: string | null = null;
  const names = (): string[] => Object.keys(histories).sort();
  const repository = {
    count: () => Promise.resolve(names().length),
    names: ({ after }: { after: string | null }, count: number) =>
      Promise.resolve(
        names()
          .filter((name) => after === null || name > after)
          .slice(0, count),
      ),
    historySizes: (list: string[]) => {
      visited.push(...list);
      return Promise.resolve(list.map((name) => histories[name].length));
    },
    oldestIds: (topic: string, count: number) => Promise.resolve(histories[topic].slice(0, count)),
  } as unknown as TopicRepository;
  const retention = {
    topicCursor: () => Promise.resolve(cursor),
    saveTopicCursor: (after: string | null) => {
      cursor = after;
      return Promise.resolve();
    },
    heads: (ids: string[]) =>
      Promise.resolve(
        ids.map((id) => {
          const thread = options.threads?.[id];
          return thread === null ? null : { threadId: thread ?? id };
        }),
      ),
  } as unknown as RetentionRepository;
  const cleanup = {
    purge: (entry: ExpiredEntry) => {
      purged.push(entry);
      histories[entry.target] = histories[entry.target].filter((id) => id !== entry.messageId);
      clock.advance(options.purgeMs ?? 0);
      return Promise.resolve();
    },
  } as unknown as CleanupRepository;
  const config = {
    retention: { topicMaxMessages: options.limit },
  } as unknown as AppConfigService;
  const service = new TopicRetentionService(config, repository, retention, cleanup, clock);
  return {
    run: (budgetMs = 2_000) => service.enforceLimit(clock.now() + budgetMs),
    purged,
    visited,
    cursor: () => cursor,
    setCursor: (after: string | null) => {
      cursor = after;
    },
  };
}

const ids = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, index) => `${prefix}${index}`);

describe(TopicRetentionService.name, () => {
  it("keeps each history's newest messages and leaves a topic within the limit alone", async () => {
    const histories = { 'a.busy': ids('b', 7), 'a.calm': ids('c', 3), 'a.full': ids('f', 4) };
    const pass = topics(histories, { limit: 4 });
    expect(await pass.run()).toBe(3);
    expect(histories).toEqual({
      'a.busy': ['b3', 'b4', 'b5', 'b6'],
      'a.calm': ['c0', 'c1', 'c2'],
      'a.full': ['f0', 'f1', 'f2', 'f3'],
    });
    // Every topic once; the next run goes on after the last.
    expect(pass.visited).toEqual(['a.busy', 'a.calm', 'a.full']);
    expect(pass.cursor()).toBe('a.full');
  });

  it('goes on after the topic the last run stopped at, and round to the ones before it', async () => {
    const histories = { 'a.one': ids('o', 2), 'a.three': ids('t', 2), 'a.two': ids('w', 3) };
    const pass = topics(histories, { limit: 2 });
    pass.setCursor('a.three');
    expect(await pass.run()).toBe(1);
    expect(pass.visited).toEqual(['a.two', 'a.one', 'a.three']);
    expect(histories['a.two']).toEqual(['w1', 'w2']);
    expect(pass.cursor()).toBe('a.three');
  });

  it('stops inside a topic at the deadline, and the next run starts with that topic', async () => {
    const histories = { 'a.first': ids('f', 3), 'a.huge': ids('h', 450), 'a.last': ids('l', 3) };
    // 200 purges a batch at 10 ms each: the deadline of 2 s passes in the first batch of
    // a.huge, which ends before the pass stops.
    const pass = topics(histories, { limit: 2, purgeMs: 10 });
    expect(await pass.run()).toBe(1 + 200);
    expect(histories['a.huge']).toHaveLength(250);
    expect(histories['a.last']).toHaveLength(3);
    expect(pass.cursor()).toBe('a.first');

    expect(await pass.run(100_000)).toBe(248 + 1);
    expect(histories['a.huge']).toEqual(['h448', 'h449']);
    expect(histories['a.last']).toEqual(['l1', 'l2']);
  });

  it('gives each purge the thread of another that the message is in, as its expiry entry names it', async () => {
    const histories = { 'a.news': ['m0', 'm1', 'm2', 'm3'] };
    const pass = topics(histories, { limit: 1, threads: { m1: 'm0', m2: null } });
    await pass.run();
    expect(pass.purged).toEqual([
      {
        member: 'm0|TOPIC|a.news',
        messageId: 'm0',
        mode: AddressingMode.TOPIC,
        target: 'a.news',
        threadKey: null,
      },
      {
        member: `m1|TOPIC|a.news|${threadKey('m0')}`,
        messageId: 'm1',
        mode: AddressingMode.TOPIC,
        target: 'a.news',
        threadKey: threadKey('m0'),
      },
      // Its hash has lapsed: the expiry cleanup, which has its entry, removes the rest.
      {
        member: 'm2|TOPIC|a.news',
        messageId: 'm2',
        mode: AddressingMode.TOPIC,
        target: 'a.news',
        threadKey: null,
      },
    ]);
  });

  it('reads nothing with TOPIC_MAX_MESSAGES=0', async () => {
    const histories = { 'a.busy': ids('b', 20_000) };
    const pass = topics(histories, { limit: 0 });
    expect(await pass.run()).toBe(0);
    expect(pass.visited).toEqual([]);
    expect(histories['a.busy']).toHaveLength(20_000);
  });
});
