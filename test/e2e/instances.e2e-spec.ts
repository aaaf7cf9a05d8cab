import type { Client } from 'graphql-ws';
import type { Redis } from 'ioredis';
import { directInput } from '../factories/messages';
import { connectWs, eventually, graphqlOk, LiveSubscription } from '../utils/graphql-client';
import { MAILBOX_FEED, MAILBOX_PAGE, type MessageView, type PageView } from '../utils/documents';
import { RedisServer } from '../utils/redis-server';
import { keysUnder, registerMailboxes, send, subscriberCount } from '../utils/service';
import { ServiceProcess } from '../utils/service-process';
import { uniquePrefix } from '../utils/test-app';

describe('two service processes on one Redis', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let prefix: string;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    prefix = uniquePrefix();
    const environment = { REDIS_URL: redisServer.url, REDIS_KEY_PREFIX: prefix };
    [a, b] = await Promise.all([
      ServiceProcess.start(environment),
      ServiceProcess.start(environment),
    ]);
    await registerMailboxes(a.baseUrl, 'far', 'near', 'twice');
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis.quit();
    await redisServer.destroy();
  });

  it('delivers 1,000 messages sent through A to a subscriber on B', async () => {
    const ws: Client = await connectWs(b.wsUrl);
    const feed = new LiveSubscription<MessageView>(
      ws,
      MAILBOX_FEED,
      { mailbox: 'far' },
      (data) => data.mailboxMessages as MessageView,
    );
    await eventually(
      async () => (await subscriberCount(redis, `${prefix}mailbox:{far}:feed`)) === 1,
    );
    const online = await graphqlOk<{ mailbox: { online: boolean } }>(
      a.baseUrl,
      '{ mailbox(name: "far") { online } }',
    );
    expect(online.mailbox.online).toBe(true);

    const sent: string[] = [];
    for (let batch = 0; batch < 20; batch += 1) {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          send(a.baseUrl, directInput('near', 'far', { content: `${batch}-${i}` })),
        ),
      );
      for (const result of results) {
        expect(result.status).toBe('SUCCESS');
        sent.push(result.messageId);
      }
    }
    const received = await feed.waitFor(1_000, 30_000);
    expect(new Set(received.map((message) => message.id))).toEqual(new Set(sent));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(feed.values).toHaveLength(1_000);
    await ws.dispose();
  });

  it('stores one message under one id when the same idempotencyKey comes through both', async () => {
    const input = directInput('near', 'twice', {
      idempotencyKey: 'retry-after-timeout',
      content: 'once',
    });
    const first = await send(a.baseUrl, input);
    const second = await send(b.baseUrl, input);
    expect(second.messageId).toBe(first.messageId);

    // And when both arrive at the same moment.
    const racing = directInput('near', 'twice', {
      idempotencyKey: 'both-at-once',
      content: 'race',
    });
    const [x, y] = await Promise.all([send(a.baseUrl, racing), send(b.baseUrl, racing)]);
    expect(x.messageId).toBe(y.messageId);

    const { mailbox } = await graphqlOk<{ mailbox: { messages: PageView } }>(
      a.baseUrl,
      MAILBOX_PAGE,
      { name: 'twice' },
    );
    expect(mailbox.messages.nodes.map((node) => node.id)).toEqual(
      [first.messageId, x.messageId].sort(),
    );
    const messageKeys = (await keysUnder(redis, prefix)).filter((key) =>
      key.startsWith(`${prefix}message:`),
    );
    expect(
      messageKeys.filter((key) => key.includes(first.messageId) || key.includes(x.messageId)),
    ).toHaveLength(2);
  });
});
