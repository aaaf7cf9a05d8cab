/**
 * g. The router core in process (as c), sending varied text, so that indexing has real words
 * to index; then, on 10,000 stored messages of one mailbox, the latency of searchMessages
 * (SearchService.search, in process) beside the latency of a plain page of that mailbox, and
 * the Redis memory those messages take.
 */
import 'reflect-metadata';
import type { Redis } from 'ioredis';
import { performance } from 'node:perf_hooks';
import type { SendMessageInput } from '../../src/messages/send-message.input';
import { runAsChild } from '../lib/child-runtime';
import { loadBuilt, startInProcess } from '../lib/service-app';
import { BENCH_SENDER, directInput } from '../lib/graphql';
import { LatencyRecorder, type LatencySummary } from '../lib/stats';
import { closedLoop, type ClosedLoopResult } from './closed-loop';

type MailboxesExports = typeof import('../../src/mailboxes/mailboxes.service');
type SearchExports = typeof import('../../src/search/search.service');
type RedisConstantsExports = typeof import('../../src/redis/redis.constants');

export interface SearchCoreRequest {
  environment: Record<string, string>;
  inFlight: number;
  contentBytes: number;
  phases: Array<{ name: string; durationMs: number; mailbox: string }>;
  /** The mailbox filled with `messages` messages for the latency and memory figures. */
  corpus: { mailbox: string; messages: number; queries: number };
}

export interface SearchCoreResult {
  phases: ClosedLoopResult[];
  /** Redis used_memory growth while the corpus was stored, in bytes. */
  corpusBytes: number;
  corpusSendMs: number;
  /** Null when search is off. */
  search: {
    latency: LatencySummary;
    byQuery: Record<string, LatencySummary & { results: number }>;
    /** Every message holding NEEDLE, found by paging to the end. */
    needlesFound: number;
    needlesSent: number;
  } | null;
  page: LatencySummary;
}

/** A word in every corpus message, one in 1 in NEEDLE_EVERY, and the query mix. */
const COMMON = 'report';
const NEEDLE = 'needle';
const NEEDLE_EVERY = 100;
const VOCABULARY_SIZE = 5_000;

/** A small deterministic PRNG (mulberry32), so that every run sends the same text. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'ti', 'vo', 'ze', 'pa', 'do', 'gu'];

/** VOCABULARY_SIZE distinct made-up words of two to four syllables. */
function vocabulary(): string[] {
  const next = random(7);
  const words = new Set<string>();
  while (words.size < VOCABULARY_SIZE) {
    const syllables = 2 + Math.floor(next() * 3);
    let word = '';
    for (let i = 0; i < syllables; i++) word += SYLLABLES[Math.floor(next() * SYLLABLES.length)];
    words.add(word);
  }
  return [...words];
}

/**
 * `count` texts of about `bytes` bytes, words drawn with Zipf's law (the word of rank r with
 * weight 1/r), as in prose: a few words in most messages, a long tail of rare ones.
 */
function texts(count: number, bytes: number, seed: number, words: string[]): string[] {
  const next = random(seed);
  const cumulative: number[] = [];
  let total = 0;
  for (let rank = 1; rank <= words.length; rank++) cumulative.push((total += 1 / rank));
  const draw = (): string => {
    const target = next() * total;
    let low = 0;
    let high = cumulative.length - 1;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (cumulative[middle] < target) low = middle + 1;
      else high = middle;
    }
    return words[low];
  };
  return Array.from({ length: count }, () => {
    let text = '';
    while (text.length < bytes) text += `${draw()} `;
    return text.slice(0, bytes);
  });
}

runAsChild<SearchCoreRequest, SearchCoreResult>(async (request, parent) => {
  const { SearchService } = loadBuilt<SearchExports>('search/search.service.js');
  const { REDIS_COMMANDS } = loadBuilt<RedisConstantsExports>('redis/redis.constants.js');
  const corpusMailbox = request.corpus.mailbox;
  const { app, router, RouteStatus } = await startInProcess(request.environment, [
    BENCH_SENDER,
    corpusMailbox,
    ...request.phases.map((phase) => phase.mailbox),
  ]);
  try {
    const words = vocabulary();
    const pool = texts(512, request.contentBytes, 11, words);

    const phases: ClosedLoopResult[] = [];
    for (const phase of request.phases) {
      let next = 0;
      const inputs = pool.map((content) => directInput(phase.mailbox, content) as SendMessageInput);
      if (phase.name === 'measure') parent.send({ type: 'measure-start' });
      phases.push(
        await closedLoop(phase.name, request.inFlight, phase.durationMs, async () => {
          const routed = await router.route(inputs[next++ % inputs.length]);
          return routed.messageId !== '' && routed.status !== RouteStatus.FAILED;
        }),
      );
      if (phase.name === 'measure') parent.send({ type: 'measure-end' });
    }

    // The corpus: every message holds COMMON, one in NEEDLE_EVERY holds NEEDLE.
    const redis = app.get<Redis>(REDIS_COMMANDS);
    const usedMemory = async (): Promise<number> =>
      Number(/used_memory:(\d+)/.exec(await redis.info('memory'))?.[1] ?? NaN);
    const corpusTexts = texts(request.corpus.messages, request.contentBytes - 14, 23, words);
    const memoryBefore = await usedMemory();
    const sendStarted = performance.now();
    let sent = 0;
    await Promise.all(
      Array.from({ length: request.inFlight }, async () => {
        while (sent < corpusTexts.length) {
          const i = sent++;
          const marker = i % NEEDLE_EVERY === 0 ? `${COMMON} ${NEEDLE}` : COMMON;
          const routed = await router.route(
            directInput(corpusMailbox, `${marker} ${corpusTexts[i]}`) as SendMessageInput,
          );
          if (routed.status === RouteStatus.FAILED) throw new Error(`corpus send ${i} failed`);
        }
      }),
    );
    const corpusSendMs = performance.now() - sendStarted;
    const corpusBytes = (await usedMemory()) - memoryBefore;

    const timed = async <T>(recorder: LatencyRecorder, run: () => Promise<T>): Promise<T> => {
      const started = performance.now();
      const value = await run();
      recorder.record(performance.now() - started);
      return value;
    };

    const { MailboxesService } = loadBuilt<MailboxesExports>('mailboxes/mailboxes.service.js');
    const mailboxes = app.get(MailboxesService);
    const page = new LatencyRecorder();
    for (let i = 0; i < 20; i++) await mailboxes.messages(corpusMailbox, 20, null);
    for (let i = 0; i < request.corpus.queries; i++) {
      await timed(page, () => mailboxes.messages(corpusMailbox, 20, null));
    }

    let search: SearchCoreResult['search'] = null;
    if (request.environment.SEARCH_ENABLED !== 'false') {
      const service = app.get(SearchService);
      const admin = { kind: 'admin' } as const;
      const ask = (query: string, after: string | null = null, first = 20) =>
        service.search(admin, { query, mailbox: corpusMailbox, threadId: null, first, after });
      // The query mix: a word of every message, the words of rank 70 and 80 together (each in
      // about 1 message in 5, both in about 1 in 27), and a word of 1 message in 100.
      const queries: Record<string, string> = {
        'every message': COMMON,
        'two words (AND)': `${words[69]} ${words[79]}`,
        'one in 100': NEEDLE,
      };
      for (const query of Object.values(queries)) for (let i = 0; i < 10; i++) await ask(query);
      const all = new LatencyRecorder();
      const byQuery: NonNullable<SearchCoreResult['search']>['byQuery'] = {};
      for (const [label, query] of Object.entries(queries)) {
        const recorder = new LatencyRecorder();
        let results = 0;
        for (let i = 0; i < Math.ceil(request.corpus.queries / 3); i++) {
          const started = performance.now();
          results = (await ask(query)).messages.length;
          const ms = performance.now() - started;
          recorder.record(ms);
          all.record(ms);
        }
        byQuery[label] = { ...recorder.summary(), results };
      }
      let needlesFound = 0;
      let after: string | null = null;
      for (;;) {
        const found = await ask(NEEDLE, after, 100);
        needlesFound += found.messages.length;
        if (!found.hasNextPage) break;
        after = found.endCursor;
      }
      search = {
        latency: all.summary(),
        byQuery,
        needlesFound,
        needlesSent: Math.ceil(request.corpus.messages / NEEDLE_EVERY),
      };
    }
    return { phases, corpusBytes, corpusSendMs, search, page: page.summary() };
  } finally {
    await app.close();
  }
});
