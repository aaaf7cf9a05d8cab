import type { Client } from 'graphql-ws';
import type { Cluster, Redis } from 'ioredis';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { directInput } from '../factories/messages';
import {
  connectWs,
  eventually,
  graphql,
  graphqlOk,
  LiveSubscription,
} from '../utils/graphql-client';
import { MAILBOX_FEED, SEND_MANY, type MessageView, type RouteView } from '../utils/documents';
import { RedisPubSubService } from '../../src/redis/redis-pubsub.service';
import { startRedisBackend, testTopology, type RedisBackend } from '../utils/redis-backend';
import {
  mailboxChannel,
  registerMailboxes,
  send,
  subscribeMailbox,
  subscriberCount,
} from '../utils/service';
import { startTestApp, startTestService, type TestApp } from '../utils/test-app';

/** Sends `count` DIRECT messages with `parallel` in flight; returns the ids in send order. */
async function sendMany(
  baseUrl: string,
  sender: string,
  target: string,
  count: number,
  parallel = 16,
): Promise<string[]> {
  const ids: string[] = new Array<string>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        ids[index] = (
          await send(baseUrl, directInput(sender, target, { content: `n${index}` }))
        ).messageId;
      }
    }),
  );
  return ids;
}

function expectNoDuplicates(ids: string[]): void {
  expect(new Set(ids).size).toBe(ids.length);
}

describe(`live feeds (${testTopology()})`, () => {
  let backend: RedisBackend;
  let redis: Redis | Cluster;
  let service: TestApp;

  beforeAll(async () => {
    backend = await startRedisBackend();
    redis = backend.client();
    service = await startTestService(backend, { SUBSCRIPTIONS_PER_SOCKET: '5' });
    await registerMailboxes(service.baseUrl, 'agent', 'peer', 'busy', 'capped', 'cycler', 'seen');
  });

  afterAll(async () => {
    await service.close();
    await redis.quit();
    await backend.destroy();
  });

  it('resumes after 1,000 missed messages: all of them in order, then live, no duplicate', async () => {
    let ws = await connectWs(service.wsUrl);
    const first = await subscribeMailbox(service, ws, 'agent');
    const before = await send(service.baseUrl, directInput('peer', 'agent', { content: 'before' }));
    const [seen] = await first.waitFor(1);
    expect(seen.id).toBe(before.messageId);
    await ws.dispose();
    await eventually(
      async () => (await subscriberCount(redis, mailboxChannel(service, 'agent'))) === 0,
    );

    const missed = await sendMany(service.baseUrl, 'peer', 'agent', 1_000);
    const sortedMissed = [...missed].sort();

    ws = await connectWs(service.wsUrl);
    const resumed = await subscribeMailbox(service, ws, 'agent', seen.id);
    const replayed = await resumed.waitFor(1_000, 20_000);
    expect(replayed.map((message) => message.id)).toEqual(sortedMissed);

    const live = await send(service.baseUrl, directInput('peer', 'agent', { content: 'live' }));
    const all = await resumed.waitFor(1_001);
    expect(all[1_000].id).toBe(live.messageId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(resumed.values).toHaveLength(1_001);
    expectNoDuplicates(resumed.values.map((message) => message.id));
    await ws.dispose();
  });

  it('has no gap and no duplicate when sends continue while the subscriber comes back', async () => {
    const backlog = await sendMany(service.baseUrl, 'peer', 'busy', 300, 1);
    let sending = true;
    const during: string[] = [];
    const sender = (async () => {
      while (sending || during.length < 50) {
        during.push((await send(service.baseUrl, directInput('peer', 'busy'))).messageId);
      }
    })();
    const ws = await connectWs(service.wsUrl);
    const feed = new LiveSubscription<MessageView>(
      ws,
      MAILBOX_FEED,
      { mailbox: 'busy', after: '0' },
      (data) => data.mailboxMessages as MessageView,
    );
    await feed.waitFor(350, 20_000);
    sending = false;
    await sender;
    const expected = [...backlog, ...during];
    const received = await feed.waitFor(expected.length, 20_000);
    // One sender, one in flight: send order is id order, and the feed keeps it.
    expect(received.map((message) => message.id)).toEqual(expected);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(feed.values).toHaveLength(expected.length);
    await ws.dispose();
  });

  it('routes a batch of 100 with two bad entries: 98 routed, two FAILED with clear errors, in order', async () => {
    const inputs = Array.from({ length: 100 }, (_, index) =>
      directInput('peer', 'agent', { content: `batch ${index}` }),
    );
    inputs[17] = directInput('peer', 'no-such-mailbox');
    inputs[63] = directInput('peer', 'agent', { ttlSeconds: -1 });
    const { sendMessages } = await graphqlOk<{ sendMessages: RouteView[] }>(
      service.baseUrl,
      SEND_MANY,
      { inputs },
    );
    expect(sendMessages).toHaveLength(100);
    expect(sendMessages[17]).toMatchObject({
      status: 'FAILED',
      messageId: '',
      errorCode: 'NOT_FOUND',
      error: 'inputs[17].target: mailbox "no-such-mailbox" is not registered or not active',
    });
    expect(sendMessages[63]).toMatchObject({ status: 'FAILED', errorCode: 'BAD_USER_INPUT' });
    expect(sendMessages[63].error).toMatch(/^inputs\[63\]\.ttlSeconds: /);
    const routed = sendMessages.filter((result) => result.status !== 'FAILED');
    expect(routed).toHaveLength(98);
    // Results in input order: each routed id reads back with its own content.
    for (const index of [0, 16, 18, 62, 64, 99]) {
      const { message } = await graphqlOk<{ message: { content: string } }>(
        service.baseUrl,
        '{ message(id: "' + sendMessages[index].messageId + '") { content } }',
      );
      expect(message.content).toBe(`batch ${index}`);
    }
  });

  it('tells who is online anywhere and moves lastSeenAt on send, read and subscribe', async () => {
    const presence = async (): Promise<{ online: boolean; lastSeenAt: string | null }> =>
      (
        await graphqlOk<{ mailbox: { online: boolean; lastSeenAt: string | null } }>(
          service.baseUrl,
          '{ mailbox(name: "seen") { online lastSeenAt } }',
        )
      ).mailbox;
    expect(await presence()).toEqual({ online: false, lastSeenAt: null });

    await send(service.baseUrl, directInput('seen', 'agent'));
    await eventually(async () => (await presence()).lastSeenAt !== null);
    const afterSend = Date.parse((await presence()).lastSeenAt as string);

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await graphqlOk(service.baseUrl, '{ mailbox(name: "seen") { messages { nodes { id } } } }');
    await eventually(async () => Date.parse((await presence()).lastSeenAt as string) > afterSend);
    const afterRead = Date.parse((await presence()).lastSeenAt as string);

    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const ws = await connectWs(service.wsUrl);
    await subscribeMailbox(service, ws, 'seen');
    expect((await presence()).online).toBe(true);
    await eventually(async () => Date.parse((await presence()).lastSeenAt as string) > afterRead);
    await ws.dispose();
    await eventually(async () => !(await presence()).online);
  });

  it('caps subscriptions per connection with a clear error, and frees the slot when one ends', async () => {
    const ws = await connectWs(service.wsUrl);
    const open = [];
    for (let i = 0; i < 5; i += 1) open.push(await subscribeMailbox(service, ws, 'capped'));
    const refused = new LiveSubscription(ws, MAILBOX_FEED, { mailbox: 'capped' }, (data) => data);
    await refused.waitForEnd();
    expect(refused.errors[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED', limit: 5 } });
    expect((refused.errors[0] as { message: string }).message).toMatch(/limit is 5 per connection/);

    open[0].unsubscribe();
    const pubsub = service.app.get(RedisPubSubService);
    await eventually(() => pubsub.listenerCount(mailboxChannel(service, 'capped')) === 4);
    const again = await subscribeMailbox(service, ws, 'capped');
    const sent = await send(service.baseUrl, directInput('peer', 'capped'));
    expect((await again.waitFor(1))[0].id).toBe(sent.messageId);
    await ws.dispose();
  });

  it('leaves no Redis channel and no heap growth after 1,000 subscribe/unsubscribe cycles', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const channel = mailboxChannel(service, 'cycler');
    const ws: Client = await connectWs(service.wsUrl);
    const cycle = async (count: number): Promise<void> => {
      for (let i = 0; i < count; i += 1) {
        const subscription = await subscribeMailbox(service, ws, 'cycler');
        subscription.unsubscribe();
        await eventually(async () => (await subscriberCount(redis, channel)) === 0);
      }
    };
    await cycle(100);
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    await cycle(1_000);
    gc();
    const growth = process.memoryUsage().heapUsed - heapBefore;
    expect(await subscriberCount(redis, channel)).toBe(0);
    // Noise: a few MB either way. A leak of even 5 KB per cycle would show as 5 MB.
    expect(growth).toBeLessThan(5 * 1024 * 1024);
    await ws.dispose();
  }, 120_000);

  it('ends open subscriptions with 1001 on shutdown and releases their channels', async () => {
    const other = await startTestApp(backend, { REDIS_KEY_PREFIX: service.prefix });
    const ws = await connectWs(other.wsUrl);
    let closeCode = 0;
    const closed = new Promise<void>((resolve) =>
      ws.on('closed', (event) => {
        closeCode = (event as { code: number }).code;
        resolve();
      }),
    );
    await subscribeMailbox(other, ws, 'peer');
    // The local listener is in place first; Redis confirms the subscription a moment later.
    await eventually(
      async () => (await subscriberCount(redis, mailboxChannel(service, 'peer'))) === 1,
    );
    await other.close();
    await closed;
    expect(closeCode).toBe(1001);
    expect(await subscriberCount(redis, mailboxChannel(service, 'peer'))).toBe(0);
    const result = await graphql(service.baseUrl, '{ mailbox(name: "peer") { online } }');
    expect(result.data).toEqual({ mailbox: { online: false } });
  });
});
