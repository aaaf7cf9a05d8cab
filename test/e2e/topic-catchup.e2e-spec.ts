import type { Client } from 'graphql-ws';
import { topicInput } from '../factories/messages';
import {
  connectWs,
  eventually,
  graphql,
  graphqlOk,
  LiveSubscription,
  type GraphqlResponse,
} from '../utils/graphql-client';
import { MESSAGE, REGISTER, SEND, TOPIC_PAGE, type PageView } from '../utils/documents';
import { RedisPubSubService } from '../../src/redis/redis-pubsub.service';
import { RedisServer } from '../utils/redis-server';
import { registerMailboxes, send, topicChannel, waitForListeners } from '../utils/service';
import { startRedisBackend, testTopology, type RedisBackend } from '../utils/redis-backend';
import { startTestApp, startTestService, type TestApp } from '../utils/test-app';
import { CleanupService } from '../../src/cleanup/cleanup.service';
import { MAX_CATCH_UP_TOPICS, TopicHistoryService } from '../../src/topics/topic-history.service';
import { compileTopicPattern } from '../../src/topics/topic-pattern';
import { SCAN_BUDGET } from '../../src/topics/topics.service';
import { PAGE_SCAN_LIMIT } from '../../src/messages/messages.service';
import { ulid } from 'ulid';

const CATCH_UP = `
  subscription CatchUp($pattern: String!, $after: ID) {
    topicMessages(pattern: $pattern, after: $after) { id target content }
  }`;

const TOPICS = `
  query Topics($pattern: String, $first: Int, $after: ID) {
    topics(pattern: $pattern, first: $first, after: $after) {
      nodes { name createdAt lastMessageAt messageCount }
      pageInfo { endCursor hasNextPage }
    }
  }`;

interface Pushed {
  id: string;
  target: string;
  content: string;
}

interface TopicView {
  name: string;
  createdAt: string;
  lastMessageAt: string;
  messageCount: number;
}

interface TopicsView {
  topics: { nodes: TopicView[]; pageInfo: { endCursor: string | null; hasNextPage: boolean } };
}

/** Sends one TOPIC message as `pub`; returns its id. */
async function publish(app: TestApp, topic: string, extra: Record<string, unknown> = {}) {
  return (await send(app.baseUrl, topicInput('pub', topic, extra))).messageId;
}

/** Sends to `topics` in turn, `count` messages, `parallel` in flight; returns [topic, id] pairs. */
async function publishMany(
  app: TestApp,
  topics: string[],
  count: number,
  parallel = 8,
): Promise<Array<[string, string]>> {
  const sent: Array<[string, string]> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const topic = topics[next % topics.length];
        next += 1;
        sent.push([topic, await publish(app, topic)]);
      }
    }),
  );
  return sent;
}

/** A catch-up subscription, resolved once the service listens to the topic feed for it. */
async function catchUp(
  app: TestApp,
  client: Client,
  pattern: string,
  after: string,
): Promise<LiveSubscription<Pushed>> {
  const channel = topicChannel(app);
  const before = app.app.get(RedisPubSubService).listenerCount(channel);
  const subscription = new LiveSubscription<Pushed>(
    client,
    CATCH_UP,
    { pattern, after },
    (data) => data.topicMessages as Pushed,
  );
  await waitForListeners(app, channel, before + 1);
  return subscription;
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 300));

describe(`topic catch-up: topicMessages(pattern, after) and the topics query (${testTopology()})`, () => {
  let backend: RedisBackend;
  let service: TestApp;
  let ws: Client;

  beforeAll(async () => {
    backend = await startRedisBackend();
    // On Cluster and Sentinel: sends through one instance, subscriptions on another.
    service = await startTestService(backend);
    await registerMailboxes(service.baseUrl, 'pub');
    ws = await connectWs(service.wsUrl);
  });

  afterAll(async () => {
    await ws.dispose();
    await service.close();
    await backend.destroy();
  });

  it('replays every matching topic in id order, then goes live, with no gap and no duplicate while sends go on', async () => {
    const topics = ['cc.a.status', 'cc.b.status', 'cc.b.load', 'cc.a.b.status', 'other.a.status'];
    const matches = compileTopicPattern('cc.*.status');
    // Enough for several replay pages and more than one page per topic.
    const backlog = await publishMany(service, topics, 600);
    let sending = true;
    const during: Array<[string, string]> = [];
    // One send in flight at a time: send order is id order.
    const sender = (async () => {
      for (let n = 0; sending || during.length < 60; n += 1) {
        const topic = topics[n % topics.length];
        during.push([topic, await publish(service, topic)]);
      }
    })();

    const feed = await catchUp(service, ws, 'cc.*.status', '0');
    const expectedBacklog = backlog
      .filter(([topic]) => matches(topic))
      .map(([, id]) => id)
      .sort();
    await feed.waitFor(expectedBacklog.length + 20, 30_000);
    sending = false;
    await sender;
    const expected = [
      ...expectedBacklog,
      ...during.filter(([topic]) => matches(topic)).map(([, id]) => id),
    ];
    const received = await feed.waitFor(expected.length, 30_000);
    expect(received.map((message) => message.id)).toEqual(expected);
    expect(received.every((message) => matches(message.target))).toBe(true);
    await settle();
    expect(feed.values).toHaveLength(expected.length);
    feed.unsubscribe();
  });

  it('with # and a cursor in the middle: only the matching messages newer than it, then live ones', async () => {
    const topics = ['hx', 'hx.a', 'hx.a.b', 'hy.a', 'hxz.a'];
    const sent: Array<[string, string]> = [];
    for (let round = 0; round < 3; round += 1) {
      for (const topic of topics) sent.push([topic, await publish(service, topic)]);
    }
    const cursor = sent[7][1];
    const expected = sent
      .slice(8)
      .filter(([topic]) => topic === 'hx' || topic.startsWith('hx.'))
      .map(([, id]) => id);

    const feed = await catchUp(service, ws, 'hx.#', cursor);
    await feed.waitFor(expected.length);
    const live = await publish(service, 'hx.live.now');
    await publish(service, 'hy.not.this');
    const received = await feed.waitFor(expected.length + 1);
    expect(received.map((message) => message.id)).toEqual([...expected, live]);
    await settle();
    expect(feed.values).toHaveLength(expected.length + 1);
    feed.unsubscribe();
  });

  it('replays with * exactly one segment, and nothing of an unknown pattern', async () => {
    const a = await publish(service, 'star.one.end');
    await publish(service, 'star.one.two.end');
    await publish(service, 'star.end');
    const b = await publish(service, 'star.two.end');

    const feed = await catchUp(service, ws, 'star.*.end', '0');
    const received = await feed.waitFor(2);
    expect(received.map((message) => message.id)).toEqual([a, b]);
    const none = await catchUp(service, ws, 'nobody.sends.#', '0');
    const live = await publish(service, 'nobody.sends.here');
    expect((await none.waitFor(1)).map((message) => message.id)).toEqual([live]);
    await settle();
    expect(feed.values).toHaveLength(2);
    feed.unsubscribe();
    none.unsubscribe();
  });

  it('does not replay an expired message', async () => {
    const expiring = await publish(service, 'exp.t', { ttlSeconds: 1 });
    const kept = await publish(service, 'exp.t');
    await eventually(async () => {
      const page = await graphqlOk<{ topicMessages: PageView }>(service.baseUrl, TOPIC_PAGE, {
        topic: 'exp.t',
      });
      return page.topicMessages.nodes.every((message) => message.id !== expiring);
    }, 10_000);

    const feed = await catchUp(service, ws, 'exp.#', '0');
    await feed.waitFor(1);
    const live = await publish(service, 'exp.t');
    const received = await feed.waitFor(2);
    expect(received.map((message) => message.id)).toEqual([kept, live]);
    feed.unsubscribe();
  });

  it('forgets a topic whose messages all expired once cleanup removes them, and keeps one that has messages', async () => {
    await publish(service, 'gone.a', { ttlSeconds: 1 });
    await publish(service, 'gone.a', { ttlSeconds: 1 });
    await publish(service, 'gone.b', { ttlSeconds: 1 });
    const stays = await publish(service, 'gone.b');
    const names = async () =>
      (
        await graphqlOk<TopicsView>(service.baseUrl, TOPICS, { pattern: 'gone.*' })
      ).topics.nodes.map((topic) => topic.name);
    expect(await names()).toEqual(['gone.a', 'gone.b']);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await service.app.get(CleanupService).run();
    expect(await names()).toEqual(['gone.b']);
    const topics = service.app.get(TopicHistoryService);
    expect(await topics.topicsActiveAfter('gone.*', '0')).toEqual(['gone.b']);
    // The topic that keeps a message keeps its history (its expired one gone); the other is
    // known again at its next message.
    const feed = await catchUp(service, ws, 'gone.#', '0');
    expect((await feed.waitFor(1)).map((message) => message.id)).toEqual([stays]);
    const again = await publish(service, 'gone.a');
    expect((await feed.waitFor(2)).map((message) => message.id)).toEqual([stays, again]);
    feed.unsubscribe();
    expect(await names()).toEqual(['gone.a', 'gone.b']);
  });

  it('gives each of two subscribers with the same document and variables the whole replay', async () => {
    const sent = (await publishMany(service, ['twin.a', 'twin.b'], 40, 4))
      .map(([, id]) => id)
      .sort();
    const other = await connectWs(service.wsUrl);
    const first = await catchUp(service, ws, 'twin.*', '0');
    const second = await catchUp(service, other, 'twin.*', '0');
    await Promise.all([first.waitFor(40), second.waitFor(40)]);
    const live = await publish(service, 'twin.a');
    for (const feed of [first, second]) {
      const received = await feed.waitFor(41);
      expect(received.map((message) => message.id)).toEqual([...sent, live]);
      feed.unsubscribe();
    }
    await other.dispose();
  });

  it('refuses a cursor that is not a message id, naming after', async () => {
    const feed = new LiveSubscription<Pushed>(
      ws,
      CATCH_UP,
      { pattern: 'a.#', after: 'not-an-id' },
      (data) => data.topicMessages as Pushed,
    );
    await feed.waitForEnd();
    expect(feed.errors).toHaveLength(1);
    expect(feed.errors[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'after' },
    });
  });

  describe('the topics query', () => {
    const sentAt: Record<string, string> = {};
    const counts: Record<string, number> = {};

    beforeAll(async () => {
      for (const [topic, count] of [
        ['tq.gamma', 1],
        ['tq.alpha', 2],
        ['tq.beta.two', 1],
        ['tq.beta.one', 3],
        ['tqx', 1],
      ] as const) {
        for (let n = 0; n < count; n += 1) {
          const id = await publish(service, topic);
          const { message } = await graphqlOk<{ message: { createdAt: string } }>(
            service.baseUrl,
            MESSAGE,
            { id },
          );
          sentAt[topic] ??= message.createdAt;
          sentAt[`${topic}#last`] = message.createdAt;
        }
        counts[topic] = count;
      }
    });

    const topicsPage = (variables: Record<string, unknown>): Promise<TopicsView> =>
      graphqlOk<TopicsView>(service.baseUrl, TOPICS, variables);

    it('lists the matching topics in name order, a page at a time, with their times and counts', async () => {
      const first = await topicsPage({ pattern: 'tq.#', first: 2 });
      expect(first.topics.nodes.map((topic) => topic.name)).toEqual(['tq.alpha', 'tq.beta.one']);
      expect(first.topics.pageInfo).toEqual({ endCursor: 'tq.beta.one', hasNextPage: true });
      const second = await topicsPage({
        pattern: 'tq.#',
        first: 2,
        after: first.topics.pageInfo.endCursor,
      });
      expect(second.topics.nodes.map((topic) => topic.name)).toEqual(['tq.beta.two', 'tq.gamma']);
      expect(second.topics.pageInfo.hasNextPage).toBe(false);

      for (const topic of [...first.topics.nodes, ...second.topics.nodes]) {
        expect(topic).toEqual({
          name: topic.name,
          createdAt: sentAt[topic.name],
          lastMessageAt: sentAt[`${topic.name}#last`],
          messageCount: counts[topic.name],
        });
      }
    });

    it('takes * as one segment, and lists every topic without a pattern', async () => {
      const beta = await topicsPage({ pattern: 'tq.*.one' });
      expect(beta.topics.nodes.map((topic) => topic.name)).toEqual(['tq.beta.one']);
      const all = await topicsPage({ first: 500 });
      const names = all.topics.nodes.map((topic) => topic.name);
      expect(names).toEqual(expect.arrayContaining(['tq.alpha', 'tqx', 'cc.a.status', 'hx']));
      expect(names).toEqual([...names].sort());
    });

    it('moves lastMessageAt and messageCount with a new message', async () => {
      await publish(service, 'tq.gamma');
      const { topics } = await topicsPage({ pattern: 'tq.gamma' });
      expect(topics.nodes).toHaveLength(1);
      expect(topics.nodes[0].messageCount).toBe(2);
      expect(Date.parse(topics.nodes[0].lastMessageAt)).toBeGreaterThanOrEqual(
        Date.parse(sentAt['tq.gamma']),
      );
    });

    it.each([
      [{ pattern: 'tq.a*' }, 'pattern'],
      [{ first: 0 }, 'first'],
      [{ first: 501 }, 'first'],
      [{ after: 'not a topic' }, 'after'],
    ])('refuses %j with BAD_USER_INPUT naming %s', async (variables, field) => {
      const response = await graphql(service.baseUrl, TOPICS, variables);
      expect(response.errors?.[0]?.extensions).toEqual(
        expect.objectContaining({ code: 'BAD_USER_INPUT', field }),
      );
    });
  });
});

describe('topic catch-up with authentication', () => {
  const ADMIN = 'admin-token-for-topic-catch-up-0123';
  let redisServer: RedisServer;
  let service: TestApp;
  let token: string;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    service = await startTestApp(redisServer.url, {
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      RATE_LIMIT_PER_MINUTE: '0',
    });
    const registered = await graphql<{ registerMailbox: { token: string } }>(
      service.baseUrl,
      REGISTER,
      { name: 'reader' },
      { authorization: `Bearer ${ADMIN}` },
    );
    token = registered.data!.registerMailbox.token;
    await graphql(
      service.baseUrl,
      SEND,
      { input: { mode: 'TOPIC', target: 'auth.topic', content: 'for every token' } },
      { authorization: `Bearer ${token}` },
    );
  });

  afterAll(async () => {
    await service.close();
    await redisServer.destroy();
  });

  it('lets any mailbox token list topics and catch up on them, and no token do either', async () => {
    const asReader = { authorization: `Bearer ${token}` };
    const listed = await graphql<TopicsView>(service.baseUrl, TOPICS, {}, asReader);
    expect(listed.data?.topics.nodes.map((topic) => topic.name)).toEqual(['auth.topic']);
    const anonymous: GraphqlResponse<TopicsView> = await graphql(service.baseUrl, TOPICS, {});
    expect(anonymous.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

    const client = await connectWs(service.wsUrl, { authorization: `Bearer ${token}` });
    const feed = new LiveSubscription<Pushed>(
      client,
      CATCH_UP,
      { pattern: 'auth.#', after: '0' },
      (data) => data.topicMessages as Pushed,
    );
    const [replayed] = await feed.waitFor(1);
    expect(replayed).toMatchObject({ target: 'auth.topic', content: 'for every token' });
    await client.dispose();
  });
});

describe('topic catch-up over many topics', () => {
  let redisServer: RedisServer;
  let service: TestApp;
  const many = MAX_CATCH_UP_TOPICS + 1;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    service = await startTestApp(redisServer.url);
    // Index entries as the topic repository writes them; the topics need no messages here.
    const redis = redisServer.client();
    const names = Array.from({ length: many }, (_, n) => `wide.n${String(n).padStart(5, '0')}`);
    const now = Date.now();
    await redis.zadd(
      `${service.prefix}topics:{index}:all`,
      ...names.flatMap((name) => [now, name]),
    );
    await redis.zadd(
      `${service.prefix}topics:{index}:names`,
      ...names.flatMap((name) => [0, name]),
    );
    await redis.quit();
  });

  afterAll(async () => {
    await service.close();
    await redisServer.destroy();
  });

  it('refuses a catch-up whose pattern matches more topics than the limit, naming pattern and the limit', async () => {
    const ws = await connectWs(service.wsUrl);
    const feed = new LiveSubscription<Pushed>(
      ws,
      CATCH_UP,
      { pattern: 'wide.*', after: '0' },
      (data) => data.topicMessages as Pushed,
    );
    await feed.waitForEnd();
    expect(feed.errors).toHaveLength(1);
    expect(feed.errors[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', field: 'pattern', limit: MAX_CATCH_UP_TOPICS },
    });
    await ws.dispose();
  });

  it('looks at a bounded number of names per topics call and goes on from endCursor', async () => {
    const first = await graphqlOk<TopicsView>(service.baseUrl, TOPICS, { pattern: '#.none' });
    expect(first.topics.nodes).toEqual([]);
    expect(first.topics.pageInfo).toEqual({
      endCursor: `wide.n${String(SCAN_BUDGET - 1).padStart(5, '0')}`,
      hasNextPage: true,
    });
    const last = await graphqlOk<TopicsView>(service.baseUrl, TOPICS, {
      pattern: 'wide.n10000',
      after: first.topics.pageInfo.endCursor,
    });
    expect(last.topics.nodes.map((topic) => topic.name)).toEqual(['wide.n10000']);
    expect(last.topics.pageInfo.hasNextPage).toBe(false);
  });
});

/** Commands Redis has run so far, every kind (INFO commandstats), those of scripts included. */
async function commandCalls(redis: { info(section: string): Promise<string> }): Promise<number> {
  const stats = await redis.info('commandstats');
  return [...stats.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)].reduce(
    (sum, [, calls]) => sum + Number(calls),
    0,
  );
}

describe('topic pages over index entries whose messages are gone', () => {
  let redisServer: RedisServer;
  let service: TestApp;
  const topic = 'lapsed.topic';
  const gone: string[] = [];
  let kept: string;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    // No loop of the service's own runs commands while the test counts them.
    service = await startTestApp(redisServer.url, {
      ROUTER_CLEANUP_INTERVAL: '86400',
      ROUTER_RETRY_CHECK_INTERVAL: '86400',
    });
    await registerMailboxes(service.baseUrl, 'pub');
    // Index entries as the topic repository writes them, each at a millisecond of its own,
    // whose messages are gone: expired, and not cleaned up yet.
    const start = Date.now() - 120_000;
    for (let n = 0; n < 3 * PAGE_SCAN_LIMIT; n += 1) gone.push(ulid(start + n));
    const redis = redisServer.client();
    await redis.zadd(
      `${service.prefix}topic:{${topic}}:messages`,
      ...gone.flatMap((id, n) => [start + n, id]),
    );
    await redis.quit();
    kept = await publish(service, topic);
  });

  afterAll(async () => {
    await service.close();
    await redisServer.destroy();
  });

  it('answers a short page after a bounded number of entries, and goes on from endCursor', async () => {
    const redis = redisServer.client();
    try {
      const before = await commandCalls(redis);
      const first = await graphqlOk<{ topicMessages: PageView }>(service.baseUrl, TOPIC_PAGE, {
        topic,
        first: 1,
      });
      const calls = (await commandCalls(redis)) - before;
      // About one small read per entry looked at, not a round of reads per entry.
      expect(calls).toBeLessThan(PAGE_SCAN_LIMIT + 500);
      expect(first.topicMessages).toEqual({
        nodes: [],
        pageInfo: { endCursor: gone[PAGE_SCAN_LIMIT - 1], hasNextPage: true },
      });

      let page = first.topicMessages;
      const found: string[] = [];
      let pages = 1;
      while (page.pageInfo.hasNextPage) {
        page = (
          await graphqlOk<{ topicMessages: PageView }>(service.baseUrl, TOPIC_PAGE, {
            topic,
            first: 1,
            after: page.pageInfo.endCursor,
          })
        ).topicMessages;
        found.push(...page.nodes.map((message) => message.id));
        pages += 1;
      }
      expect(found).toEqual([kept]);
      expect(pages).toBe(4);
    } finally {
      await redis.quit();
    }
  });
});
