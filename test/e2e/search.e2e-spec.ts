import type { Cluster, Redis } from 'ioredis';
import { directInput, type SendInput } from '../factories/messages';
import { eventually, graphql, type GraphqlResponse } from '../utils/graphql-client';
import { REGISTER, SEND, SEND_MANY, type RouteView } from '../utils/documents';
import { startRedisBackend, testTopology, type RedisBackend } from '../utils/redis-backend';
import { connectMcp, toolError, type AgentMessage, type ToolResult } from '../utils/mcp-client';
import { keysUnder } from '../utils/service';
import { startTestApp, startTestService, type TestApp } from '../utils/test-app';
import { trimsWith } from '../../src/search/search.service';

const ADMIN = 'admin-token-for-search-tests-0123';
const MESSAGES = 10_000;
const BATCH = 100;
const COLORS = ['red', 'green', 'blue', 'amber', 'violet'];
const ANIMALS = ['fox', 'owl', 'cat', 'yak', 'emu', 'elk', 'ram'];
const THREAD = 'thread-seven';
const MAX_AGE_SECONDS = 86_400;

const SEARCH = `
  query Search($query: String!, $mailbox: String, $threadId: String, $first: Int, $after: ID) {
    searchMessages(query: $query, mailbox: $mailbox, threadId: $threadId, first: $first, after: $after) {
      nodes { id content subject threadId read }
      pageInfo { endCursor hasNextPage }
    }
  }`;

interface Found {
  id: string;
  content: string;
  subject: string | null;
  threadId: string | null;
  read: boolean;
}

interface SearchView {
  searchMessages: {
    nodes: Found[];
    pageInfo: { endCursor: string | null; hasNextPage: boolean };
  };
}

/** Message i of alice's 10,000: words that select known fractions of them. */
function aliceMessage(i: number): SendInput {
  const words = ['report', COLORS[i % COLORS.length], ANIMALS[i % ANIMALS.length], `n${i}`];
  if (i % 1000 === 999) words.push('needle');
  return directInput('bob', 'alice', {
    content: words.join(' '),
    subject: i % 50 === 0 ? 'Weekly summary' : null,
    threadId: i % 100 === 7 ? THREAD : null,
  });
}

/** Ids newest first, as search answers them. */
function newestFirst(ids: string[]): string[] {
  return [...ids].sort().reverse();
}

describe(`search (${testTopology()})`, () => {
  let backend: RedisBackend;
  let redis: Redis | Cluster;
  let service: TestApp;
  const tokens: Record<string, string> = {};
  /** alice's messages: message i's id at index i. */
  const ids: string[] = [];

  const as = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

  async function search(
    variables: Record<string, unknown>,
    token = ADMIN,
  ): Promise<GraphqlResponse<SearchView>> {
    return graphql<SearchView>(service.baseUrl, SEARCH, variables, as(token));
  }

  async function searchOk(
    variables: Record<string, unknown>,
    token = ADMIN,
  ): Promise<SearchView['searchMessages']> {
    const response = await search(variables, token);
    if (response.errors?.length || !response.data) {
      throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
    }
    return response.data.searchMessages;
  }

  /** Follows endCursor to the end; every page checked for order and size. */
  async function searchAll(variables: Record<string, unknown>, token = ADMIN): Promise<Found[]> {
    const all: Found[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 1_000; pages++) {
      const page = await searchOk({ ...variables, after }, token);
      expect(page.nodes.length).toBeLessThanOrEqual((variables.first as number | undefined) ?? 20);
      all.push(...page.nodes);
      if (!page.pageInfo.hasNextPage) return all;
      after = page.pageInfo.endCursor;
      expect(after).not.toBeNull();
    }
    throw new Error('no last page after 1,000 pages');
  }

  async function sendAsAdmin(input: SendInput): Promise<RouteView> {
    const response = await graphql<{ sendMessage: RouteView }>(
      service.baseUrl,
      SEND,
      { input },
      as(ADMIN),
    );
    expect(response.errors).toBeUndefined();
    return response.data!.sendMessage;
  }

  beforeAll(async () => {
    backend = await startRedisBackend();
    redis = backend.client();
    service = await startTestService(backend, {
      SEARCH_ENABLED: 'true',
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      RATE_LIMIT_PER_MINUTE: '0',
      MAILBOX_MAX_AGE: String(MAX_AGE_SECONDS),
    });
    for (const name of ['alice', 'bob', 'carol', 'dave']) {
      const response = await graphql<{ registerMailbox: { token: string } }>(
        service.baseUrl,
        REGISTER,
        { name },
        as(ADMIN),
      );
      tokens[name] = response.data!.registerMailbox.token;
    }
    // sendMessages batches of 100, four in flight.
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < MESSAGES) {
          const start = next;
          next += BATCH;
          const inputs = Array.from({ length: BATCH }, (_, k) => aliceMessage(start + k));
          const response = await graphql<{ sendMessages: RouteView[] }>(
            service.baseUrl,
            SEND_MANY,
            { inputs },
            as(ADMIN),
          );
          expect(response.errors).toBeUndefined();
          response.data!.sendMessages.forEach((result, k) => {
            expect(result.status).not.toBe('FAILED');
            ids[start + k] = result.messageId;
          });
        }
      }),
    );
    // bob's mailbox holds the same words: none of it may reach alice's results.
    for (let i = 0; i < 20; i++) {
      await sendAsAdmin(directInput('alice', 'bob', { content: `report red fox needle n${i}` }));
    }
  }, 180_000);

  afterAll(async () => {
    await service?.close();
    await redis?.quit();
    await backend?.destroy();
  });

  it('answers the newest 20 of 10,000 matches first, then the next 20 after the cursor', async () => {
    const newest = newestFirst(ids);
    const first = await searchOk({ query: 'report' }, tokens.alice);
    expect(first.nodes.map((node) => node.id)).toEqual(newest.slice(0, 20));
    expect(first.pageInfo).toEqual({ endCursor: newest[19], hasNextPage: true });
    const second = await searchOk(
      { query: 'report', after: first.pageInfo.endCursor },
      tokens.alice,
    );
    expect(second.nodes.map((node) => node.id)).toEqual(newest.slice(20, 40));
  });

  it('pages through every message holding all the words (AND), newest first, once each', async () => {
    const expected = newestFirst(ids.filter((_, i) => i % 5 === 0 && i % 7 === 0));
    expect(expected).toHaveLength(286);
    const found = await searchAll({ query: 'Red FOX', first: 100 }, tokens.alice);
    expect(found.map((node) => node.id)).toEqual(expected);
    for (const node of found) expect(node.content).toMatch(/^report red fox n\d+$/);
  });

  it('reads the subject too, and finds one message by a word of its own', async () => {
    const weekly = await searchAll({ query: 'weekly', first: 100 }, tokens.alice);
    expect(weekly.map((node) => node.id)).toEqual(newestFirst(ids.filter((_, i) => i % 50 === 0)));
    expect(weekly.every((node) => node.subject === 'Weekly summary')).toBe(true);
    const one = await searchOk({ query: 'N4242' }, tokens.alice);
    expect(one.nodes.map((node) => node.id)).toEqual([ids[4242]]);
    expect(one.pageInfo).toEqual({ endCursor: ids[4242], hasNextPage: false });
  });

  it('answers an empty last page for words that never meet', async () => {
    const needles = await searchOk({ query: 'needle', first: 100 }, tokens.alice);
    expect(needles.nodes.map((node) => node.id)).toEqual(
      newestFirst(ids.filter((_, i) => i % 1000 === 999)),
    );
    // Every needle is message 999 + 1000k: violet (999 % 5 = 4), never red.
    expect((await searchOk({ query: 'needle violet' }, tokens.alice)).nodes).toHaveLength(10);
    expect(await searchOk({ query: 'needle red' }, tokens.alice)).toEqual({
      nodes: [],
      pageInfo: { endCursor: null, hasNextPage: false },
    });
    expect((await searchOk({ query: 'never-written' }, tokens.alice)).nodes).toEqual([]);
  });

  it('filters by thread, following endCursor over short pages', async () => {
    const found = await searchAll({ query: 'report', threadId: THREAD, first: 20 }, tokens.alice);
    expect(found.map((node) => node.id)).toEqual(newestFirst(ids.filter((_, i) => i % 100 === 7)));
    expect(found.every((node) => node.threadId === THREAD)).toBe(true);
  });

  it("searches only the caller's mailbox: its own by token, a named one for the admin", async () => {
    const own = await searchOk({ query: 'needle', mailbox: 'alice', first: 100 }, tokens.alice);
    expect(own.nodes).toHaveLength(10);
    expect(own.nodes.every((node) => ids.includes(node.id))).toBe(true);

    const bobs = await searchOk({ query: 'needle', first: 100 }, tokens.bob);
    expect(bobs.nodes).toHaveLength(20);
    expect(bobs.nodes.some((node) => ids.includes(node.id))).toBe(false);
    const asAdmin = await searchOk({ query: 'needle', mailbox: 'bob', first: 100 });
    expect(asAdmin.nodes.map((node) => node.id)).toEqual(bobs.nodes.map((node) => node.id));

    const theirs = await search({ query: 'needle', mailbox: 'bob' }, tokens.alice);
    expect(theirs.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', field: 'mailbox' });
    expect(theirs.data).toBeNull();

    const unnamed = await search({ query: 'needle' });
    expect(unnamed.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'mailbox',
    });
    const unknown = await search({ query: 'needle', mailbox: 'nobody' });
    expect(unknown.errors?.[0].extensions).toMatchObject({ code: 'NOT_FOUND', field: 'mailbox' });
    const noToken = await graphql(service.baseUrl, SEARCH, { query: 'needle' });
    expect(noToken.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it.each([
    ['an empty query', { query: '' }, 'query', 1],
    ['a query of stop words and single letters', { query: 'the a of b' }, 'query', 1],
    ['more than 8 words', { query: 'one two three four five six seven eight nine' }, 'query', 8],
    ['a query over 256 characters', { query: `report ${'x '.repeat(130)}` }, 'query', 256],
    ['a word over 64 characters', { query: `report ${'w'.repeat(65)}` }, 'query', 64],
    ['first above 100', { query: 'report', first: 101 }, 'first', 100],
    ['first below 1', { query: 'report', first: 0 }, 'first', 100],
    ['an over-long threadId', { query: 'report', threadId: 't'.repeat(257) }, 'threadId', 256],
  ])(
    'refuses %s with BAD_USER_INPUT naming the field and limit',
    async (_what, args, field, limit) => {
      const response = await search(args, tokens.alice);
      expect(response.errors).toHaveLength(1);
      expect(response.errors![0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field,
        limit,
      });
      expect(response.errors![0].message).toMatch(new RegExp(`^${field}: `));
    },
  );

  it('refuses a cursor that is not a message id', async () => {
    const response = await search({ query: 'report', after: 'not-an-id' }, tokens.alice);
    expect(response.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'after',
    });
  });

  it('never answers an expired message, and its index lapses with it', async () => {
    const sent = await sendAsAdmin(
      directInput('bob', 'carol', { content: 'ephemeral words', ttlSeconds: 1 }),
    );
    const key = `${service.prefix}mailbox:{carol}:search:ephemeral`;
    expect(await redis.pttl(key)).toBeGreaterThan(0);
    const found = await searchOk({ query: 'ephemeral' }, tokens.carol);
    expect(found.nodes.map((node) => node.id)).toEqual([sent.messageId]);
    await eventually(
      async () => (await searchOk({ query: 'ephemeral' }, tokens.carol)).nodes.length === 0,
      10_000,
    );
    await eventually(async () => (await redis.exists(key)) === 0, 10_000);
  });

  it('keeps its list of word keys to the keys that have not lapsed', async () => {
    await graphql(service.baseUrl, REGISTER, { name: 'frank' }, as(ADMIN));
    const list = `${service.prefix}mailbox:{frank}:search-terms`;
    await sendAsAdmin(directInput('bob', 'frank', { content: 'lasting words' }));
    for (let i = 0; i < 20; i++) {
      await sendAsAdmin(directInput('bob', 'frank', { content: `fleeting u${i}x`, ttlSeconds: 1 }));
    }
    expect(await redis.zcard(list)).toBe(2 + 1 + 20);
    const word = (name: string): string => `${service.prefix}mailbox:{frank}:search:${name}`;
    // Every short-lived word key gone (the last of them with the last such message).
    await eventually(
      async () => (await redis.exists(word('u19x'), word('fleeting'))) === 0,
      10_000,
    );
    // The next message indexed drops the names of the keys that lapsed.
    await new Promise((resolve) => setTimeout(resolve, 100));
    await sendAsAdmin(directInput('bob', 'frank', { content: 'lasting again' }));
    const names = await redis.zrange(list, '0', '-1');
    expect(names.sort()).toEqual([word('again'), word('lasting'), word('words')].sort());
    // A name's score is its key's lapse: never, for words of messages that never lapse here.
    expect(await redis.zscore(list, word('lasting'))).toBe(
      String(await redis.pexpiretime(word('lasting'))),
    );
  });

  it('turns the set of word keys an earlier version wrote into the scored list', async () => {
    await graphql(service.baseUrl, REGISTER, { name: 'legacy' }, as(ADMIN));
    const list = `${service.prefix}mailbox:{legacy}:search-terms`;
    const word = (name: string): string => `${service.prefix}mailbox:{legacy}:search:${name}`;
    await redis.zadd(word('older'), 1, 'x');
    await redis.pexpire(word('older'), 60_000);
    await redis.sadd(list, word('older'), word('gone'));
    await sendAsAdmin(directInput('bob', 'legacy', { content: 'fresh words' }));
    expect(await redis.type(list)).toBe('zset');
    expect(await redis.zscore(list, word('older'))).toBe(
      String(await redis.pexpiretime(word('older'))),
    );
    expect(await redis.zscore(list, word('gone'))).toBeNull();
    expect(await redis.zscore(list, word('fresh'))).not.toBeNull();
  });

  it('drops a message no longer in the mailbox, and heals the index where it reads it', async () => {
    const kept = await sendAsAdmin(directInput('bob', 'carol', { content: 'orphan kept' }));
    const gone = await sendAsAdmin(directInput('bob', 'carol', { content: 'orphan gone' }));
    const termKey = `${service.prefix}mailbox:{carol}:search:orphan`;
    expect(await redis.zcard(termKey)).toBe(2);
    // As cleanup does for an expired message: the mailbox's index no longer holds it.
    await redis.zrem(`${service.prefix}mailbox:{carol}:messages`, gone.messageId);
    const found = await searchOk({ query: 'orphan' }, tokens.carol);
    expect(found.nodes.map((node) => node.id)).toEqual([kept.messageId]);
    expect(await redis.zscore(termKey, gone.messageId)).toBeNull();
    expect(await redis.zscore(termKey, kept.messageId)).not.toBeNull();
  });

  it('keeps an index entry as long as retention keeps the message (MAILBOX_MAX_AGE)', async () => {
    await sendAsAdmin(directInput('bob', 'carol', { content: 'durable words' }));
    const ttl = await redis.pttl(`${service.prefix}mailbox:{carol}:search:durable`);
    expect(ttl).toBeGreaterThan((MAX_AGE_SECONDS - 60) * 1000);
    expect(ttl).toBeLessThanOrEqual(MAX_AGE_SECONDS * 1000);
  });

  it("trims a word's index of what the mailbox dropped when later messages are indexed", async () => {
    const termKey = `${service.prefix}mailbox:{dave}:search:tidy`;
    const dropped = [
      await sendAsAdmin(directInput('bob', 'dave', { content: 'tidy first' })),
      await sendAsAdmin(directInput('bob', 'dave', { content: 'tidy second' })),
    ].map((result) => result.messageId);
    // As retention does: the oldest entries leave the mailbox's index.
    await redis.zrem(`${service.prefix}mailbox:{dave}:messages`, ...dropped);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await redis.zcard(termKey)).toBe(2);
    // No search in between: indexing alone trims, with about one message in six.
    let trimmed = false;
    for (let sends = 0; sends < 200 && !trimmed; sends++) {
      const { messageId } = await sendAsAdmin(directInput('bob', 'dave', { content: 'tidy more' }));
      trimmed = trimsWith(messageId);
    }
    expect(trimmed).toBe(true);
    for (const id of dropped) expect(await redis.zscore(termKey, id)).toBeNull();
    const kept = await redis.zcard(termKey);
    expect(kept).toBe(await redis.zcard(`${service.prefix}mailbox:{dave}:messages`));
  });

  it('says which results the mailbox marked read', async () => {
    const marked = await graphql(
      service.baseUrl,
      'mutation Mark($ids: [ID!]) { markRead(messageIds: $ids) { name } }',
      { ids: [ids[4000]] },
      as(tokens.alice),
    );
    expect(marked.errors).toBeUndefined();
    const found = await searchOk({ query: 'n4000' }, tokens.alice);
    expect(found.nodes.map((node) => [node.id, node.read])).toEqual([[ids[4000], true]]);
    const other = await searchOk({ query: 'n4001' }, tokens.alice);
    expect(other.nodes.map((node) => [node.id, node.read])).toEqual([[ids[4001], false]]);
  });

  it("deletes a deleted mailbox's index with it, and nothing of another mailbox", async () => {
    const own = await startTestApp(backend, {
      SEARCH_ENABLED: 'true',
      ROUTER_CLEANUP_INTERVAL: '0.2',
    });
    try {
      for (const name of ['frank', 'grace']) await graphql(own.baseUrl, REGISTER, { name });
      for (const to of ['frank', 'grace']) {
        for (let i = 0; i < 30; i++) {
          const sent = await graphql(own.baseUrl, SEND, {
            input: directInput('grace', to, { content: `doomed words w${i} lasting` }),
          });
          expect(sent.errors).toBeUndefined();
        }
      }
      const indexOf = async (name: string): Promise<string[]> =>
        (await keysUnder(redis, own.prefix)).filter((key) =>
          key.startsWith(`${own.prefix}mailbox:{${name}}:search`),
        );
      // 33 words (doomed, words, lasting, w0 to w29) and the list of them.
      expect(await indexOf('frank')).toHaveLength(34);
      const graces = (await indexOf('grace')).sort();
      expect(graces).toHaveLength(34);
      const deleted = await graphql(own.baseUrl, 'mutation { deleteMailbox(name: "frank") }');
      expect(deleted.data).toEqual({ deleteMailbox: true });
      await eventually(async () => (await indexOf('frank')).length === 0, 10_000);
      expect((await indexOf('grace')).sort()).toEqual(graces);
    } finally {
      await own.close();
    }
  });

  it("gives an agent its own results over MCP's search_messages, as previews, page by page", async () => {
    const alice = await connectMcp(service.baseUrl, tokens.alice, { name: 'searcher' });
    type Page = { messages: AgentMessage[]; next_cursor: string | null };
    const call = async (args: Record<string, unknown>): Promise<ToolResult> =>
      (await alice.callTool({ name: 'search_messages', arguments: args })) as ToolResult;
    try {
      const found: AgentMessage[] = [];
      let after: string | null = null;
      do {
        const result = await call({
          query: 'NEEDLE report',
          limit: 4,
          ...(after ? { after } : {}),
        });
        expect(result.isError).toBeFalsy();
        const page = result.structuredContent as Page;
        expect(page.messages.length).toBeLessThanOrEqual(4);
        found.push(...page.messages);
        after = page.next_cursor;
      } while (after !== null);
      // Alice's ten needles, newest first; bob's twenty are his.
      const needles = ids.filter((_, i) => i % 1000 === 999);
      expect(found.map((message) => message.message_id)).toEqual(newestFirst(needles));
      expect(found[0]).toMatchObject({ from: 'bob', to: 'alice', read: false, truncated: false });
      expect(found[0].preview).toBe('report violet yak n9999 needle');
      expect(found[0].body).toBeUndefined();

      const inThread = (await call({ query: 'report', thread_id: THREAD, limit: 50 }))
        .structuredContent as Page;
      // A thread's hundred are rare among the 10,000: a page may stop at the search's budget,
      // short, with a cursor to go on from.
      expect(inThread.messages.length).toBeGreaterThan(0);
      expect(inThread.messages.every((message) => message.thread_id === THREAD)).toBe(true);
      expect(inThread.next_cursor).not.toBeNull();

      const words = 'one two three four five six seven eight nine';
      expect(toolError(await call({ query: words }))).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'query',
        limit: 8,
      });
      expect(toolError(await call({ query: 'report', limit: 51 }))).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'limit',
      });
    } finally {
      await alice.close();
    }
  });

  it('with SEARCH_ENABLED=false, indexes nothing and refuses searchMessages', async () => {
    const off = await startTestApp(backend, { SEARCH_ENABLED: 'false' });
    try {
      const erin = await graphql<{ registerMailbox: { token: string } }>(off.baseUrl, REGISTER, {
        name: 'erin',
      });
      const sent = await graphql(off.baseUrl, SEND, {
        input: directInput('erin', 'erin', { content: 'unindexed words' }),
      });
      expect(sent.errors).toBeUndefined();
      const refused = await graphql<SearchView>(off.baseUrl, SEARCH, {
        query: 'unindexed',
        mailbox: 'erin',
      });
      expect(refused.errors?.[0].extensions).toMatchObject({
        code: 'FORBIDDEN',
        reason: 'SEARCH_DISABLED',
      });
      const keys = await keysUnder(redis, off.prefix);
      expect(keys.some((key) => key.includes(':messages'))).toBe(true);
      expect(keys.filter((key) => key.includes(':search:'))).toEqual([]);
      // Nor is the MCP tool offered.
      const agent = await connectMcp(off.baseUrl, erin.data!.registerMailbox.token, {
        name: 'searcher',
      });
      try {
        const { tools } = await agent.listTools();
        expect(tools.map((tool) => tool.name)).not.toContain('search_messages');
        expect(tools.map((tool) => tool.name)).toContain('check_inbox');
      } finally {
        await agent.close();
      }
    } finally {
      await off.close();
    }
  });
});
