import { RedisTopology } from '../../src/redis/redis-topology.service';
import { ulid } from 'ulid';
import { threadKey } from '../../src/messages/thread-key';
import { broadcastInput, directInput, topicInput } from '../factories/messages';
import { connectWs, graphql, graphqlOk } from '../utils/graphql-client';
import { MAILBOX_PAGE, SEND, type PageView } from '../utils/documents';
import { startRedisBackend, testTopology, type RedisBackend } from '../utils/redis-backend';
import { registerMailboxes, send, subscribeTopic } from '../utils/service';
import { startTestService, type TestApp } from '../utils/test-app';

/** Past the margin for instances' clocks (5 s) that ownership by name allows. */
const PAST_CLOCK_MARGIN_MS = 5_100;

describe(`keyed sends repeated after the mailboxes changed (${testTopology()})`, () => {
  let redis: RedisBackend;
  let service: TestApp;

  async function holds(name: string, id: string): Promise<boolean> {
    const { mailbox } = await graphqlOk<{ mailbox: { messages: PageView } }>(
      service.baseUrl,
      MAILBOX_PAGE,
      { name, first: 500 },
    );
    return mailbox.messages.nodes.some((node) => node.id === id);
  }

  beforeAll(async () => {
    redis = await startRedisBackend();
    service = await startTestService(redis);
  });

  afterAll(async () => {
    await service?.close();
    await redis?.destroy();
  });

  it('completes a keyed BROADCAST repeat for the mailboxes of the first send, not one registered since', async () => {
    await registerMailboxes(service.baseUrl, 'caster', 'early-1', 'early-2');
    const keyed = broadcastInput('caster', { content: 'all hands', idempotencyKey: 'cast-1' });
    const first = await send(service.baseUrl, keyed);
    expect(first.recipients).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, PAST_CLOCK_MARGIN_MS));
    await registerMailboxes(service.baseUrl, 'newcomer');

    const repeat = await send(service.baseUrl, keyed);
    expect(repeat).toMatchObject({ messageId: first.messageId, recipients: 2 });
    expect(await holds('early-1', first.messageId)).toBe(true);
    expect(await holds('early-2', first.messageId)).toBe(true);
    expect(await holds('newcomer', first.messageId)).toBe(false);
  }, 20_000);

  it('publishes a keyed TOPIC send whose first try stopped before its publish, once, when it is completed', async () => {
    await registerMailboxes(service.baseUrl, 'announcer');
    const ws = await connectWs(service.wsUrl);
    const feed = await subscribeTopic(service, ws, 'news.#');
    // The instance that takes the sends over HTTP fails to publish; the feed is on `app`.
    const topology = service.httpApp.get(RedisTopology);
    const publish = topology.publish.bind(topology);
    let failed = 0;
    const spy = jest.spyOn(topology, 'publish').mockImplementation((channel, payload) => {
      if (failed === 0 && channel.includes('topics:{feed}')) {
        failed += 1;
        return Promise.reject(new Error('Connection is closed.'));
      }
      return publish(channel, payload);
    });
    try {
      const keyed = topicInput('announcer', 'news.today', {
        content: 'extra',
        idempotencyKey: 'news-1',
      });
      const first = await send(service.baseUrl, keyed);
      expect(failed).toBe(1);
      // Queued behind the failure and completed by the flush, or failed: then the client repeats.
      if (first.status === 'FAILED') await send(service.baseUrl, keyed);
      const [pushed] = await feed.waitFor(1);
      expect(pushed.id).toBe(first.messageId);
      // A later repeat finds it published: nothing more.
      expect((await send(service.baseUrl, keyed)).messageId).toBe(first.messageId);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(feed.values.map((value) => value.id)).toEqual([first.messageId]);
    } finally {
      spy.mockRestore();
      feed.unsubscribe();
      await ws.dispose();
    }
  });

  it('leaves no thread index behind for a refused keyed send whose threadId names no message', async () => {
    await registerMailboxes(service.baseUrl, 'wanderer');
    const threadId = ulid();
    const response = await graphql(service.baseUrl, SEND, {
      input: directInput('wanderer', 'nobody-here', { threadId, idempotencyKey: 'lost-1' }),
    });
    expect(response.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const client = redis.client();
    try {
      expect(await client.exists(`${service.prefix}thread:{${threadKey(threadId)}}:messages`)).toBe(
        0,
      );
    } finally {
      await client.quit();
    }
  });
});
