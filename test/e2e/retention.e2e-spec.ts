import { createClient, type Client } from 'graphql-ws';
import type { Cluster, Redis } from 'ioredis';
import WebSocket from 'ws';
import { CleanupService, type CleanupReport } from '../../src/cleanup/cleanup.service';
import { threadKey } from '../../src/messages/thread-key';
import { RedisKeys } from '../../src/redis/redis-keys';
import { broadcastInput, directInput, topicInput } from '../factories/messages';
import {
  MAILBOX_FEED,
  MAILBOX_PAGE,
  REGISTER,
  SEND,
  SEND_MANY,
  type MessageView,
  type PageView,
  type RouteView,
} from '../utils/documents';
import {
  connectWs,
  eventually,
  graphql,
  graphqlOk,
  LiveSubscription,
} from '../utils/graphql-client';
import { startRedisBackend, testTopology, type RedisBackend } from '../utils/redis-backend';
import {
  keysUnder,
  mailboxChannel,
  registerMailboxes,
  send,
  subscribeMailbox,
  waitForListeners,
} from '../utils/service';
import { startTestApp, type TestApp } from '../utils/test-app';

const STATUS = `
  query Status($id: ID!) { deliveryStatus(messageId: $id) { mailbox status reason } }`;

interface Status {
  mailbox: string;
  status: string;
  reason: string | null;
}

async function page(service: TestApp, name: string, after?: string): Promise<MessageView[]> {
  const { mailbox } = await graphqlOk<{ mailbox: { messages: PageView } | null }>(
    service.baseUrl,
    MAILBOX_PAGE,
    after === undefined ? { name, first: 500 } : { name, first: 500, after },
  );
  return mailbox?.messages.nodes ?? [];
}

async function ids(service: TestApp, name: string, after?: string): Promise<string[]> {
  return (await page(service, name, after)).map((message) => message.id);
}

async function sendAll(
  service: TestApp,
  inputs: ReturnType<typeof directInput>[],
): Promise<string[]> {
  const sent: string[] = [];
  for (let i = 0; i < inputs.length; i += 100) {
    const { sendMessages } = await graphqlOk<{ sendMessages: RouteView[] }>(
      service.baseUrl,
      SEND_MANY,
      { inputs: inputs.slice(i, i + 100) },
    );
    sent.push(...sendMessages.map((result) => result.messageId));
  }
  return sent;
}

/** One run of the cleanup loop, the same call its @nestjs/schedule job makes. */
async function cleanupRun(service: TestApp): Promise<CleanupReport> {
  const report = await service.app.get(CleanupService).run();
  if (report === null) throw new Error('the cleanup lock was held');
  return report;
}

describe(`retention limits and mailbox deletion (${testTopology()})`, () => {
  let backend: RedisBackend;
  let redis: Redis | Cluster;

  beforeAll(async () => {
    backend = await startRedisBackend();
    redis = backend.client();
  });

  afterAll(async () => {
    await redis.quit();
    await backend.destroy();
  });

  describe('MAILBOX_MAX_MESSAGES', () => {
    let service: TestApp;
    let ws: Client;

    beforeAll(async () => {
      service = await startTestApp(backend, {
        MAILBOX_MAX_MESSAGES: '3',
        MAILBOX_MAX_AGE: '0',
        // Runs come from the tests alone.
        ROUTER_CLEANUP_INTERVAL: '3600',
        // Request deadlines are swept often.
        ROUTER_RETRY_CHECK_INTERVAL: '0.2',
      });
      ws = await connectWs(service.wsUrl);
    });

    afterAll(async () => {
      await ws.dispose();
      await service.close();
    });

    it('keeps a BROADCAST for the mailboxes that still hold it when one mailbox trims it', async () => {
      await registerMailboxes(service.baseUrl, 'caster', 'keeper', 'busy');
      const broadcast = await send(service.baseUrl, broadcastInput('caster'));
      expect(broadcast.recipients).toBe(2);
      const directs = await sendAll(
        service,
        [1, 2, 3].map(() => directInput('caster', 'busy')),
      );

      await cleanupRun(service);

      expect(await ids(service, 'busy')).toEqual(directs);
      expect(await ids(service, 'keeper')).toEqual([broadcast.messageId]);
      const { message } = await graphqlOk<{ message: { id: string } | null }>(
        service.baseUrl,
        '{ message(id: "' + broadcast.messageId + '") { id } }',
      );
      expect(message).toEqual({ id: broadcast.messageId });
      // No age limit: the hash stays as long as a mailbox holds it, with no expiry of its own.
      expect(await redis.pttl(`${service.prefix}message:{${broadcast.messageId}}`)).toBe(-1);
    });

    it('trims a mailbox to its newest entries; a DIRECT message leaves Redis with its entry, its pending delivery turns EXPIRED and its sender is told', async () => {
      await registerMailboxes(service.baseUrl, 'writer', 'reader');
      const [tracked] = await sendAll(service, [
        directInput('writer', 'reader', { requireConfirmation: true }),
      ]);
      const rest = await sendAll(
        service,
        [1, 2, 3, 4].map(() => directInput('writer', 'reader')),
      );
      expect(
        await redis.zscore(`${service.prefix}mailbox:{reader}:pending`, tracked),
      ).not.toBeNull();

      const report = await cleanupRun(service);

      expect(report.trimmed).toBeGreaterThanOrEqual(2);
      expect(await ids(service, 'reader')).toEqual(rest.slice(1));
      for (const gone of [tracked, rest[0]]) {
        expect(await redis.exists(`${service.prefix}message:{${gone}}`)).toBe(0);
        const { message } = await graphqlOk<{ message: null }>(
          service.baseUrl,
          '{ message(id: "' + gone + '") { id } }',
        );
        expect(message).toBeNull();
      }
      expect(await redis.zscore(`${service.prefix}mailbox:{reader}:pending`, tracked)).toBeNull();
      const { deliveryStatus } = await graphqlOk<{ deliveryStatus: Status[] }>(
        service.baseUrl,
        STATUS,
        { id: tracked },
      );
      expect(deliveryStatus).toEqual([
        {
          mailbox: 'reader',
          status: 'EXPIRED',
          reason: expect.stringContaining('MAILBOX_MAX_MESSAGES') as string,
        },
      ]);
      const notices = (await page(service, 'writer')).filter(
        (message) => message.correlationId === tracked,
      );
      expect(notices).toHaveLength(1);
      expect(notices[0].metadata).toMatchObject({ type: 'delivery.expired', recipient: 'reader' });

      // A second run finds nothing more to do, and tells nobody twice.
      await cleanupRun(service);
      expect(await ids(service, 'reader')).toEqual(rest.slice(1));
      expect(
        (await page(service, 'writer')).filter((message) => message.correlationId === tracked),
      ).toHaveLength(1);
    });

    it("takes a message out of its thread's index when it is trimmed, or when it expires", async () => {
      await registerMailboxes(service.baseUrl, 'asker', 'answerer', 'asker2', 'answerer2');
      const index = (root: string): string => service.app.get(RedisKeys).thread(threadKey(root));
      // A reply that asker's mailbox trims, and one with a short life in a mailbox under its
      // limit, which the cleanup of expired messages removes.
      const rootA = await send(service.baseUrl, directInput('asker', 'answerer'));
      const trimmed = await send(service.baseUrl, {
        ...directInput('answerer', 'asker'),
        inReplyTo: rootA.messageId,
      });
      const rootB = await send(service.baseUrl, directInput('asker2', 'answerer2'));
      const expiring = await send(service.baseUrl, {
        ...directInput('answerer2', 'asker2'),
        inReplyTo: rootB.messageId,
        ttlSeconds: 1,
      });
      expect(await redis.zrange(index(rootA.messageId), '0', '-1')).toEqual([
        rootA.messageId,
        trimmed.messageId,
      ]);
      expect(await redis.zrange(index(rootB.messageId), '0', '-1')).toEqual([
        rootB.messageId,
        expiring.messageId,
      ]);
      await sendAll(
        service,
        [1, 2, 3].map(() => directInput('answerer', 'asker')),
      );
      await new Promise((resolve) => setTimeout(resolve, 1_100));

      await cleanupRun(service);

      expect(await redis.exists(`${service.prefix}message:{${trimmed.messageId}}`)).toBe(0);
      expect(await redis.exists(`${service.prefix}message:{${expiring.messageId}}`)).toBe(0);
      expect(await redis.zrange(index(rootA.messageId), '0', '-1')).toEqual([rootA.messageId]);
      expect(await redis.zrange(index(rootB.messageId), '0', '-1')).toEqual([rootB.messageId]);
    });

    it("lets a thread's index go once its first message, and then its last, are gone", async () => {
      await registerMailboxes(service.baseUrl, 'asker3', 'answerer3', 'asker4', 'answerer4');
      const index = (root: string): string => service.app.get(RedisKeys).thread(threadKey(root));
      // Expired first, then named as a thread by a message that expires too.
      const root = await send(service.baseUrl, {
        ...directInput('asker3', 'answerer3'),
        ttlSeconds: 1,
      });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await cleanupRun(service);
      const late = await send(service.baseUrl, {
        ...directInput('answerer3', 'asker3'),
        threadId: root.messageId,
        ttlSeconds: 1,
      });
      expect(await redis.zrange(index(root.messageId), '0', '-1')).toEqual([
        root.messageId,
        late.messageId,
      ]);
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await cleanupRun(service);
      expect(await redis.exists(index(root.messageId))).toBe(0);

      // A first message trimmed from its mailbox leaves its thread's index too.
      const first = await send(service.baseUrl, directInput('answerer4', 'asker4'));
      const answer = await send(service.baseUrl, {
        ...directInput('asker4', 'answerer4'),
        inReplyTo: first.messageId,
      });
      await sendAll(
        service,
        [1, 2, 3].map(() => directInput('answerer4', 'asker4')),
      );
      await cleanupRun(service);
      expect(await redis.exists(`${service.prefix}message:{${first.messageId}}`)).toBe(0);
      expect(await redis.zrange(index(first.messageId), '0', '-1')).toEqual([answer.messageId]);
    });

    it('tells a requester nobody answered a request that was trimmed before its deadline', async () => {
      await registerMailboxes(service.baseUrl, 'requester', 'swamped');
      const request = await send(
        service.baseUrl,
        directInput('requester', 'swamped', { replyWithinSeconds: 1 }),
      );
      await sendAll(
        service,
        [1, 2, 3].map(() => directInput('requester', 'swamped')),
      );
      await cleanupRun(service);
      expect(await ids(service, 'swamped')).not.toContain(request.messageId);
      // The hash stays for the sweep, which tells the requester once the deadline passes.
      await eventually(async () => {
        const notices = (await page(service, 'requester')).filter(
          (message) =>
            message.correlationId === request.messageId &&
            (message.metadata as { type?: string } | null)?.type === 'reply.timeout',
        );
        return notices.length === 1;
      }, 20_000);
    });

    it('resumes a page or a feed whose cursor was trimmed from the next newer message that is left', async () => {
      await registerMailboxes(service.baseUrl, 'cursor-writer', 'cursor-reader');
      const sent = await sendAll(
        service,
        [1, 2, 3, 4, 5].map(() => directInput('cursor-writer', 'cursor-reader')),
      );
      await cleanupRun(service);
      const kept = sent.slice(2);
      expect(await ids(service, 'cursor-reader')).toEqual(kept);

      for (const trimmed of sent.slice(0, 2)) {
        expect(await ids(service, 'cursor-reader', trimmed)).toEqual(kept);
      }
      const feed = await subscribeMailbox(service, ws, 'cursor-reader', sent[1]);
      const replayed = await feed.waitFor(3);
      expect(replayed.map((message) => message.id)).toEqual(kept);
      const live = await send(service.baseUrl, directInput('cursor-writer', 'cursor-reader'));
      expect((await feed.waitFor(4))[3].id).toBe(live.messageId);
      feed.unsubscribe();
    });

    it('trims a mailbox far over its limit in bounded batches, run after run', async () => {
      await registerMailboxes(service.baseUrl, 'flood-writer', 'flooded');
      const sent = await sendAll(
        service,
        Array.from({ length: 450 }, () => directInput('flood-writer', 'flooded')),
      );

      // Each run stops at its time budget: on a loaded machine it may take more than one.
      let trimmed = 0;
      for (let run = 0; run < 10; run++) {
        const report = await cleanupRun(service);
        if (report.trimmed === 0) break;
        trimmed += report.trimmed;
      }

      expect(trimmed).toBeGreaterThanOrEqual(447);
      expect(await ids(service, 'flooded')).toEqual(sent.slice(-3));
      const left = (await keysUnder(redis, service.prefix)).filter((key) =>
        sent.slice(0, -3).some((id) => key.includes(id)),
      );
      expect(left).toEqual([]);
    });
  });

  describe('MAILBOX_MAX_AGE, in the scheduled cleanup loop', () => {
    let service: TestApp;

    beforeAll(async () => {
      service = await startTestApp(backend, {
        MAILBOX_MAX_MESSAGES: '0',
        MAILBOX_MAX_AGE: '4',
        ROUTER_CLEANUP_INTERVAL: '0.2',
      });
    });

    afterAll(async () => {
      await service.close();
    });

    it('drops entries older than the limit, DIRECT and BROADCAST hashes with them, and keeps younger ones', async () => {
      await registerMailboxes(service.baseUrl, 'aged-sender', 'aged-a', 'aged-b');
      const direct = await send(service.baseUrl, directInput('aged-sender', 'aged-a'));
      const broadcast = await send(service.baseUrl, broadcastInput('aged-sender'));
      expect(await ids(service, 'aged-a')).toEqual([direct.messageId, broadcast.messageId]);

      await eventually(async () => {
        const keys = await keysUnder(redis, service.prefix);
        return (
          keys.every(
            (key) => !key.includes(direct.messageId) && !key.includes(broadcast.messageId),
          ) &&
          (await ids(service, 'aged-a')).length === 0 &&
          (await ids(service, 'aged-b')).length === 0
        );
      }, 20_000);

      // Four seconds of age are far more than a send and a read take.
      const young = await send(service.baseUrl, directInput('aged-sender', 'aged-a'));
      expect(await ids(service, 'aged-a')).toEqual([young.messageId]);
    });
    it("drops a topic's messages older than the limit, and the topic with its last", async () => {
      const TOPIC_PAGE = 'query T($t: String!) { topicMessages(topic: $t) { nodes { id } } }';
      const history = async (): Promise<string[]> =>
        (
          await graphqlOk<{ topicMessages: { nodes: Array<{ id: string }> } }>(
            service.baseUrl,
            TOPIC_PAGE,
            { t: 'aged.news' },
          )
        ).topicMessages.nodes.map((node) => node.id);
      await registerMailboxes(service.baseUrl, 'aged-caster');
      const sent = await send(service.baseUrl, topicInput('aged-caster', 'aged.news'));
      expect(await history()).toEqual([sent.messageId]);
      await eventually(async () => {
        const keys = await keysUnder(redis, service.prefix);
        return (
          keys.every((key) => !key.includes(sent.messageId) && !key.includes('aged.news')) &&
          (await history()).length === 0
        );
      }, 20_000);
    });

    it('drops a broadcast that reached no mailbox once it is older than the limit', async () => {
      for (const name of ['aged-sender', 'aged-a', 'aged-b']) {
        await graphqlOk(
          service.baseUrl,
          'mutation D($n: String!) { deactivateMailbox(name: $n) { name } }',
          { n: name },
        );
      }
      const sent = await send(service.baseUrl, broadcastInput('aged-caster'));
      expect(sent.recipients).toBe(0);
      expect(await keysUnder(redis, service.prefix)).toContainEqual(
        expect.stringContaining(sent.messageId),
      );
      await eventually(async () => {
        const keys = await keysUnder(redis, service.prefix);
        return keys.every((key) => !key.includes(sent.messageId));
      }, 20_000);
    });
  });

  describe('TOPIC_MAX_MESSAGES', () => {
    // Oldest first.
    const HISTORY = 'query T($t: String!) { topicMessages(topic: $t) { nodes { id } } }';
    const TOPICS = 'query L($p: String) { topics(pattern: $p) { nodes { name messageCount } } }';
    let service: TestApp;
    let keys: RedisKeys;

    const history = async (topic: string): Promise<string[]> =>
      (
        await graphqlOk<{ topicMessages: { nodes: Array<{ id: string }> } }>(
          service.baseUrl,
          HISTORY,
          { t: topic },
        )
      ).topicMessages.nodes.map((node) => node.id);

    const publishAll = async (
      topic: string,
      count: number,
      overrides: (index: number, sent: string[]) => Record<string, unknown> = () => ({}),
    ): Promise<string[]> => {
      const sent: string[] = [];
      for (let index = 0; index < count; index += 1) {
        const input = topicInput('topical', topic, overrides(index, sent));
        sent.push((await send(service.baseUrl, input)).messageId);
      }
      return sent;
    };

    beforeAll(async () => {
      service = await startTestApp(backend, {
        TOPIC_MAX_MESSAGES: '3',
        // Runs come from the tests alone.
        ROUTER_CLEANUP_INTERVAL: '3600',
      });
      keys = new RedisKeys(service.prefix);
      await registerMailboxes(service.baseUrl, 'topical');
    });

    afterAll(async () => {
      await service.close();
    });

    it("keeps each topic's newest messages, and every trace of the older ones goes", async () => {
      // The second message answers the first, so that both are in a thread's index.
      const news = await publishAll('capped.news', 6, (index, sent) =>
        index === 1 ? { inReplyTo: sent[0] } : {},
      );
      const quiet = await publishAll('capped.quiet', 3);
      const [first, second] = news;
      const schedule = async (): Promise<string[]> =>
        redis.zrange(keys.expirySchedule(), '0', '-1');
      expect((await schedule()).filter((member) => member.startsWith(second))).toHaveLength(1);
      expect(await redis.zrange(keys.thread(threadKey(first)), '0', '-1')).toEqual([first, second]);

      const report = await cleanupRun(service);
      expect(report.trimmedFromTopics).toBe(3);
      expect(await history('capped.news')).toEqual(news.slice(3));
      expect(await history('capped.quiet')).toEqual(quiet);
      expect(await redis.zrange(keys.topicArrivals('capped.news'), '0', '-1')).toEqual(
        news.slice(3),
      );
      const gone = news.slice(0, 3);
      const left = await keysUnder(redis, service.prefix);
      expect(left.filter((key) => gone.some((id) => key.includes(id)))).toEqual([]);
      expect(left).not.toContain(keys.thread(threadKey(first)));
      expect(
        (await schedule()).filter((member) => gone.some((id) => member.startsWith(id))),
      ).toEqual([]);
      expect(
        await graphqlOk(service.baseUrl, 'query M($id: ID!) { message(id: $id) { id } }', {
          id: first,
        }),
      ).toEqual({ message: null });
      // The topic stays listed, and its count is of every message it was sent.
      expect(await graphqlOk(service.baseUrl, TOPICS, { p: 'capped.*' })).toEqual({
        topics: {
          nodes: [
            { name: 'capped.news', messageCount: 6 },
            { name: 'capped.quiet', messageCount: 3 },
          ],
        },
      });

      expect((await cleanupRun(service)).trimmedFromTopics).toBe(0);
    });

    it('trims again as a topic grows, whichever topic the last pass ended at', async () => {
      const more = await publishAll('capped.quiet', 2);
      const report = await cleanupRun(service);
      expect(report.trimmedFromTopics).toBe(2);
      expect((await history('capped.quiet')).slice(1)).toEqual(more);
    });
  });

  describe('BROADCAST_ACTIVE_WITHIN', () => {
    let service: TestApp;

    beforeAll(async () => {
      service = await startTestApp(backend, { BROADCAST_ACTIVE_WITHIN: '4' });
    });

    afterAll(async () => {
      await service.close();
    });

    const lastSeen = async (name: string): Promise<number> => {
      const { mailbox } = await graphqlOk<{ mailbox: { lastSeenAt: string | null } }>(
        service.baseUrl,
        `{ mailbox(name: "${name}") { lastSeenAt } }`,
      );
      return mailbox.lastSeenAt === null ? 0 : Date.parse(mailbox.lastSeenAt);
    };

    it('reaches only mailboxes seen (or registered) within the window', async () => {
      await registerMailboxes(service.baseUrl, 'quiet', 'lively', 'announcer');
      // Past the window of their registration.
      await new Promise((resolve) => setTimeout(resolve, 4_500));
      await page(service, 'lively');
      await eventually(async () => (await lastSeen('lively')) > 0);

      const first = await send(service.baseUrl, broadcastInput('announcer'));
      expect(first.recipients).toBe(1);
      expect(await ids(service, 'lively')).toEqual([first.messageId]);
      expect(await ids(service, 'quiet')).toEqual([]);

      // Reading its mailbox brings the quiet one back; a new mailbox counts as seen at once.
      await page(service, 'quiet');
      await eventually(async () => (await lastSeen('quiet')) > 0);
      await registerMailboxes(service.baseUrl, 'newcomer');
      const second = await send(service.baseUrl, broadcastInput('announcer'));
      expect(second.recipients).toBe(3);
      expect(await ids(service, 'quiet')).toEqual([second.messageId]);
      expect(await ids(service, 'newcomer')).toEqual([second.messageId]);
    });
  });

  describe('deleteMailbox', () => {
    const ADMIN = 'admin-token-for-retention-tests-0123';
    let service: TestApp;
    let admin: Client;
    const tokens: Record<string, string> = {};

    const as = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });
    const asAdmin = <T>(query: string, variables: Record<string, unknown> = {}) =>
      graphql<T>(service.baseUrl, query, variables, as(ADMIN));
    const DELETE = 'mutation Delete($name: String!) { deleteMailbox(name: $name) }';

    beforeAll(async () => {
      service = await startTestApp(backend, {
        AUTH_ENABLED: 'true',
        ADMIN_TOKEN: ADMIN,
        RATE_LIMIT_PER_MINUTE: '100000',
      });
      for (const name of ['doomed', 'survivor', 'caller']) {
        const response = await asAdmin<{ registerMailbox: { token: string } }>(REGISTER, { name });
        tokens[name] = response.data!.registerMailbox.token;
      }
      admin = await connectWs(service.wsUrl, { authorization: `Bearer ${ADMIN}` });
    });

    afterAll(async () => {
      await admin.dispose();
      await service.close();
    });

    const sendAs = async (token: string, input: Record<string, unknown>): Promise<RouteView> => {
      const response = await graphql<{ sendMessage: RouteView }>(
        service.baseUrl,
        SEND,
        { input },
        as(token),
      );
      if (!response.data) throw new Error(JSON.stringify(response.errors));
      return response.data.sendMessage;
    };

    it('is the admin’s: a mailbox token gets FORBIDDEN', async () => {
      const response = await graphql(
        service.baseUrl,
        DELETE,
        { name: 'doomed' },
        as(tokens.caller),
      );
      expect(response.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    });

    it('removes the mailbox at once, closes its token’s sockets, ends its feeds, then its entries; what it sent stays', async () => {
      const tracked = await sendAs(
        tokens.caller,
        directInput('caller', 'doomed', { requireConfirmation: true }),
      );
      const plain = await sendAs(tokens.caller, directInput('caller', 'doomed'));
      const broadcast = await sendAs(tokens.caller, broadcastInput('caller'));
      const sentByDoomed = await sendAs(tokens.doomed, directInput('doomed', 'survivor'));

      const own = createClient({
        url: service.wsUrl,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${tokens.doomed}` },
        retryAttempts: 0,
        onNonLazyError: () => undefined,
      });
      let closeCode = 0;
      own.on('closed', (event) => {
        closeCode = (event as { code: number }).code;
      });
      const ownFeed = new LiveSubscription(
        own,
        MAILBOX_FEED,
        { mailbox: 'doomed' },
        (data) => data,
      );
      await waitForListeners(service, mailboxChannel(service, 'doomed'), 1);
      const adminFeed = await subscribeMailbox(service, admin, 'doomed');

      const deleted = await asAdmin<{ deleteMailbox: boolean }>(DELETE, { name: 'doomed' });
      expect(deleted.data).toEqual({ deleteMailbox: true });

      await adminFeed.waitForEnd();
      expect(adminFeed.completed).toBe(true);
      await eventually(() => closeCode === 4403);
      await ownFeed.waitForEnd();
      const refused = await graphql(
        service.baseUrl,
        '{ mailbox(name: "doomed") { name } }',
        {},
        as(tokens.doomed),
      );
      expect(refused.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      const listed = await asAdmin<{ mailboxes: Array<{ name: string }>; mailbox: null }>(
        '{ mailboxes { name } mailbox(name: "doomed") { name } }',
      );
      expect(listed.data?.mailbox).toBeNull();
      expect(listed.data?.mailboxes.map((mailbox) => mailbox.name).sort()).toEqual([
        'caller',
        'survivor',
      ]);
      const direct = await graphql(
        service.baseUrl,
        SEND,
        { input: directInput('caller', 'doomed') },
        as(tokens.caller),
      );
      expect(direct.errors?.[0].extensions?.code).toBe('NOT_FOUND');

      // The entries go in the background, started by the deletion itself, which is then
      // forgotten. (The search index's terms are search's to remove: its searches drop entries
      // that left a mailbox.)
      await eventually(async () => {
        const keys = await keysUnder(redis, service.prefix);
        const gone = keys
          .filter((key) => !key.includes(':search:'))
          .every(
            (key) =>
              !key.includes('{doomed}') &&
              !key.includes(`message:{${tracked.messageId}}`) &&
              !key.includes(`message:{${plain.messageId}}`),
          );
        const deleting = await redis.zscore(
          `${service.prefix}mailboxes:{index}:deleting`,
          'doomed',
        );
        return gone && deleting === null;
      }, 10_000);
      const status = await asAdmin<{ deliveryStatus: Status[] }>(STATUS, { id: tracked.messageId });
      expect(status.data?.deliveryStatus).toEqual([
        {
          mailbox: 'doomed',
          status: 'EXPIRED',
          reason: expect.stringContaining('deleted') as string,
        },
      ]);
      // What the deleted mailbox sent, and a broadcast others hold, stay with their recipients.
      const survivor = await asAdmin<{ mailbox: { messages: PageView } }>(MAILBOX_PAGE, {
        name: 'survivor',
      });
      expect(survivor.data?.mailbox.messages.nodes.map((message) => message.id)).toEqual([
        broadcast.messageId,
        sentByDoomed.messageId,
      ]);

      // The name can be registered again, as a new, empty mailbox.
      const again = await asAdmin<{ registerMailbox: { token: string } }>(REGISTER, {
        name: 'doomed',
      });
      expect(again.errors).toBeUndefined();
      const fresh = await asAdmin<{ mailbox: { messages: PageView } }>(MAILBOX_PAGE, {
        name: 'doomed',
      });
      expect(fresh.data?.mailbox.messages.nodes).toEqual([]);
      await own.dispose();
    });

    it('answers false for a mailbox that does not exist', async () => {
      const response = await asAdmin<{ deleteMailbox: boolean }>(DELETE, { name: 'nobody' });
      expect(response.data).toEqual({ deleteMailbox: false });
    });

    it('refuses to register a name while a deletion of it is unfinished, and the loop finishes it', async () => {
      // A deletion that a crash cut short: recorded, never announced.
      await redis.zadd(`${service.prefix}mailboxes:{index}:deleting`, Date.now(), 'phoenix');
      const refused = await asAdmin(REGISTER, { name: 'phoenix' });
      expect(refused.errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'name',
      });

      // A run of the loop finishes it (or a purge still under way from the deletion before).
      await eventually(async () => {
        await service.app.get(CleanupService).run();
        return (
          (await redis.zscore(`${service.prefix}mailboxes:{index}:deleting`, 'phoenix')) === null
        );
      });
      const registered = await asAdmin(REGISTER, { name: 'phoenix' });
      expect(registered.errors).toBeUndefined();
    });

    it('finishes a deletion whose call stopped before the mailbox went, and only then removes its entries', async () => {
      const registered = await asAdmin<{ registerMailbox: { token: string } }>(REGISTER, {
        name: 'halfway',
      });
      const token = registered.data!.registerMailbox.token;
      const sent = await sendAs(tokens.caller, directInput('caller', 'halfway'));
      const deleting = `${service.prefix}mailboxes:{index}:deleting`;
      const page = async (): Promise<string[] | undefined> =>
        (
          await graphql<{ mailbox: { messages: PageView } | null }>(
            service.baseUrl,
            MAILBOX_PAGE,
            { name: 'halfway' },
            as(token),
          )
        ).data?.mailbox?.messages.nodes.map((node) => node.id);

      // Recorded just now, and the call that recorded it is still at work: nothing goes.
      await redis.zadd(deleting, Date.now(), 'halfway');
      await service.app.get(CleanupService).run();
      expect(await page()).toEqual([sent.messageId]);

      // Recorded long ago for this registration, and never finished: the call died.
      const at = Date.now() - 60_000;
      await redis.hset(`${service.prefix}mailbox:{halfway}:metadata`, 'createdAt', at - 1);
      await redis.zadd(deleting, at, 'halfway');
      await eventually(async () => {
        await service.app.get(CleanupService).run();
        return (await redis.zscore(deleting, 'halfway')) === null;
      });
      const refused = await graphql(service.baseUrl, MAILBOX_PAGE, { name: 'halfway' }, as(token));
      expect(refused.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      const gone = await asAdmin<{ mailbox: unknown }>(MAILBOX_PAGE, { name: 'halfway' });
      expect(gone.data?.mailbox).toBeNull();
      const stored = await asAdmin<{ message: unknown }>(
        'query M($id: ID!) { message(id: $id) { id } }',
        { id: sent.messageId },
      );
      expect(stored.data?.message).toBeNull();
    });

    it("gives a mailbox registered again under a deleted one's name none of its idempotency keys", async () => {
      const register = async (name: string): Promise<string> => {
        const response = await asAdmin<{ registerMailbox: { token: string } }>(REGISTER, { name });
        expect(response.errors).toBeUndefined();
        return response.data!.registerMailbox.token;
      };
      const before = await register('reborn');
      const keyed = { mode: 'DIRECT', target: 'survivor', idempotencyKey: 'task-1' };
      const first = await sendAs(before, { ...keyed, content: 'from the first owner' });
      expect((await asAdmin(DELETE, { name: 'reborn' })).errors).toBeUndefined();
      let after = '';
      await eventually(async () => {
        await service.app.get(CleanupService).run();
        const response = await asAdmin<{ registerMailbox: { token: string } }>(REGISTER, {
          name: 'reborn',
        });
        after = response.data?.registerMailbox.token ?? '';
        return after !== '';
      });
      // The same key from the new owner is a new send, not a repeat of the old owner's.
      const second = await sendAs(after, { ...keyed, content: 'from the new owner' });
      expect(second.messageId).not.toBe(first.messageId);
      const stored = await asAdmin<{ message: { content: string } | null }>(
        'query M($id: ID!) { message(id: $id) { content } }',
        { id: second.messageId },
      );
      expect(stored.data?.message).toEqual({ content: 'from the new owner' });
    });
  });
});
