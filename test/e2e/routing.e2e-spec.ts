import type { Client } from 'graphql-ws';
import type { Cluster, Redis } from 'ioredis';
import { broadcastInput, directInput, topicInput } from '../factories/messages';
import { connectWs, eventually, graphqlOk } from '../utils/graphql-client';
import {
  MAILBOX_PAGE,
  MESSAGE,
  TOPIC_PAGE,
  type MessageView,
  type PageView,
} from '../utils/documents';
import { startRedisBackend, testTopology, type RedisBackend } from '../utils/redis-backend';
import {
  registerMailboxes,
  send,
  subscribeMailbox,
  subscribeTopic,
  subscriberCount,
  topicChannel,
} from '../utils/service';
import { startTestService, type TestApp } from '../utils/test-app';

describe(`routing over HTTP and WebSocket (${testTopology()})`, () => {
  let backend: RedisBackend;
  let redis: Redis | Cluster;
  let service: TestApp;
  let ws: Client;

  beforeAll(async () => {
    backend = await startRedisBackend();
    redis = backend.client();
    service = await startTestService(backend);
    ws = await connectWs(service.wsUrl);
    await registerMailboxes(service.baseUrl, 'alice', 'bob', 'carol', 'dave');
  });

  afterAll(async () => {
    await ws.dispose();
    await service.close();
    await redis.quit();
    await backend.destroy();
  });

  describe('DIRECT', () => {
    it('is read back whole by id and by the paged mailbox list, and says QUEUED with no subscriber', async () => {
      const input = directInput('bob', 'alice', {
        content: 'plan the trip ✈',
        contentType: 'application/json',
        subject: 'trip',
        metadata: { step: 1, tags: ['a', 'b'], nested: { ok: true } },
        priority: 'HIGH',
        ttlSeconds: 3600,
        correlationId: 'corr-1',
        replyTo: 'bob',
        threadId: 'thread-9',
      });
      const result = await send(service.baseUrl, input);
      expect(result).toMatchObject({ status: 'QUEUED', recipients: 1, error: null });
      expect(result.messageId).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);

      const { message } = await graphqlOk<{ message: MessageView }>(service.baseUrl, MESSAGE, {
        id: result.messageId,
      });
      expect(message).toMatchObject({
        id: result.messageId,
        sender: 'bob',
        mode: 'DIRECT',
        target: 'alice',
        content: 'plan the trip ✈',
        contentType: 'application/json',
        subject: 'trip',
        metadata: { step: 1, tags: ['a', 'b'], nested: { ok: true } },
        priority: 'HIGH',
        requireConfirmation: false,
        correlationId: 'corr-1',
        replyTo: 'bob',
        threadId: 'thread-9',
      });
      const created = Date.parse(message.createdAt);
      expect(Date.parse(message.expiresAt as string) - created).toBe(3_600_000);

      const { mailbox } = await graphqlOk<{ mailbox: { messages: PageView } }>(
        service.baseUrl,
        MAILBOX_PAGE,
        {
          name: 'alice',
        },
      );
      expect(mailbox.messages.nodes.map((node) => node.id)).toContain(result.messageId);
      expect(mailbox.messages.nodes.find((node) => node.id === result.messageId)).toEqual(message);
    });

    it('says SUCCESS when a subscriber of the mailbox is live, and the subscriber gets it', async () => {
      const feed = await subscribeMailbox(service, ws, 'carol');
      const result = await send(
        service.baseUrl,
        directInput('alice', 'carol', { content: 'live one' }),
      );
      expect(result.status).toBe('SUCCESS');
      const [received] = await feed.waitFor(1);
      expect(received).toMatchObject({
        id: result.messageId,
        content: 'live one',
        sender: 'alice',
      });
      expect(typeof received.createdAt).toBe('string');
      feed.unsubscribe();
    });

    it('pages a mailbox oldest first with exact cursors', async () => {
      await registerMailboxes(service.baseUrl, 'pager');
      const ids: string[] = [];
      for (let i = 0; i < 7; i += 1) {
        ids.push(
          (await send(service.baseUrl, directInput('bob', 'pager', { content: `m${i}` })))
            .messageId,
        );
      }
      const seen: string[] = [];
      let after: string | null = null;
      let pages = 0;
      for (;;) {
        const data: { mailbox: { messages: PageView } } = await graphqlOk(
          service.baseUrl,
          MAILBOX_PAGE,
          {
            name: 'pager',
            first: 3,
            after,
          },
        );
        seen.push(...data.mailbox.messages.nodes.map((node) => node.id));
        pages += 1;
        after = data.mailbox.messages.pageInfo.endCursor;
        if (!data.mailbox.messages.pageInfo.hasNextPage) break;
      }
      expect(seen).toEqual(ids);
      expect(pages).toBe(3);
    });
  });

  describe('BROADCAST', () => {
    it('reaches every active mailbox but the sender, stored for those offline', async () => {
      await registerMailboxes(service.baseUrl, 'bc-a', 'bc-b', 'bc-off');
      const live = await subscribeMailbox(service, ws, 'bc-a');
      await graphqlOk(service.baseUrl, 'mutation { deactivateMailbox(name: "bc-off") { active } }');
      const { mailboxes } = await graphqlOk<{
        mailboxes: Array<{ name: string; active: boolean }>;
      }>(service.baseUrl, '{ mailboxes { name active } }');
      const active = mailboxes.filter((mailbox) => mailbox.active).map((mailbox) => mailbox.name);

      const result = await send(service.baseUrl, broadcastInput('bc-b', { content: 'all hands' }));
      expect(result.status).toBe('SUCCESS');
      expect(result.recipients).toBe(active.length - 1);
      const [pushed] = await live.waitFor(1);
      expect(pushed.id).toBe(result.messageId);

      for (const name of active) {
        const { mailbox } = await graphqlOk<{ mailbox: { messages: PageView } }>(
          service.baseUrl,
          MAILBOX_PAGE,
          {
            name,
            first: 500,
          },
        );
        const ids = mailbox.messages.nodes.map((node) => node.id);
        if (name === 'bc-b') expect(ids).not.toContain(result.messageId);
        else expect(ids).toContain(result.messageId);
      }
      const { mailbox: off } = await graphqlOk<{ mailbox: { messages: PageView } }>(
        service.baseUrl,
        MAILBOX_PAGE,
        {
          name: 'bc-off',
        },
      );
      expect(off.messages.nodes.map((node) => node.id)).not.toContain(result.messageId);
      live.unsubscribe();
    });
  });

  describe('TOPIC', () => {
    it('reaches matching patterns only and lands in the topic history', async () => {
      const star = await subscribeTopic(service, ws, 'agents.*.status');
      const hash = await subscribeTopic(service, ws, 'agents.#');
      const other = await subscribeTopic(service, ws, 'agents.x');

      const result = await send(
        service.baseUrl,
        topicInput('dave', 'agents.planner.status', { content: 'green' }),
      );
      expect(result.status).toBe('SUCCESS');
      const marker = await send(
        service.baseUrl,
        topicInput('dave', 'agents.x', { content: 'marker' }),
      );

      expect((await star.waitFor(1))[0]).toMatchObject({
        id: result.messageId,
        target: 'agents.planner.status',
      });
      expect((await hash.waitFor(2)).map((message) => message.id)).toEqual([
        result.messageId,
        marker.messageId,
      ]);
      // agents.x got the marker, sent after the status message: had the status message matched, it would be first.
      expect((await other.waitFor(1)).map((message) => message.id)).toEqual([marker.messageId]);

      const { topicMessages } = await graphqlOk<{ topicMessages: PageView }>(
        service.baseUrl,
        TOPIC_PAGE,
        {
          topic: 'agents.planner.status',
        },
      );
      expect(topicMessages.nodes.map((node) => node.id)).toEqual([result.messageId]);
      for (const subscription of [star, hash, other]) subscription.unsubscribe();
    });

    it('says QUEUED when nobody listens to topics', async () => {
      await eventually(async () => (await subscriberCount(redis, topicChannel(service))) === 0);
      const result = await send(service.baseUrl, topicInput('dave', 'lonely.topic'));
      expect(result).toMatchObject({ status: 'QUEUED', recipients: 0 });
    });
  });
});
