import type { Client } from 'graphql-ws';
import { directInput } from '../factories/messages';
import { connectWs, eventually, graphqlOk, LiveSubscription } from '../utils/graphql-client';
import { RedisServer } from '../utils/redis-server';
import { registerMailboxes, send } from '../utils/service';
import { ServiceProcess } from '../utils/service-process';
import { uniquePrefix } from '../utils/test-app';

interface Pushed {
  id: string;
  deliveryAttempt: number | null;
}

const FEED =
  'subscription Feed($mailbox: String!) { mailboxMessages(mailbox: $mailbox) { id deliveryAttempt } }';
const RETRIES = 3;
const MESSAGES = 20;

describe('retries with three service processes on one Redis', () => {
  let redisServer: RedisServer;
  let services: ServiceProcess[] = [];

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    const environment = {
      REDIS_URL: redisServer.url,
      REDIS_KEY_PREFIX: uniquePrefix(),
      ROUTER_MAX_RETRY_ATTEMPTS: String(RETRIES),
      ROUTER_BASE_RETRY_DELAY: '0.2',
      ROUTER_RETRY_EXPONENTIAL_BASE: '2',
      ROUTER_RETRY_JITTER: 'true',
      ROUTER_RETRY_CHECK_INTERVAL: '0.02',
    };
    for (let i = 0; i < 3; i += 1) services.push(await ServiceProcess.start(environment));
  });

  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
    services = [];
    await redisServer.destroy();
  });

  it('pushes every attempt exactly once across the three', async () => {
    const [a, b, c] = services;
    await registerMailboxes(a.baseUrl, 'origin', 'sink');
    const ws: Client = await connectWs(b.wsUrl);
    const feed = new LiveSubscription<Pushed>(
      ws,
      FEED,
      { mailbox: 'sink' },
      (data) => data.mailboxMessages as Pushed,
    );
    await eventually(async () => {
      const { mailbox } = await graphqlOk<{ mailbox: { online: boolean } }>(
        c.baseUrl,
        '{ mailbox(name: "sink") { online } }',
      );
      return mailbox.online;
    });

    const ids = await Promise.all(
      Array.from({ length: MESSAGES }, async (_, i) => {
        const through = services[i % 3];
        return (
          await send(through.baseUrl, directInput('origin', 'sink', { requireConfirmation: true }))
        ).messageId;
      }),
    );
    const total = MESSAGES * (1 + RETRIES);
    await feed.waitFor(total, 20_000);
    // Let any stray duplicate arrive before counting.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(feed.values).toHaveLength(total);
    for (const id of ids) {
      const attempts = feed.values
        .filter((push) => push.id === id)
        .map((push) => push.deliveryAttempt);
      expect(attempts.sort()).toEqual([1, 2, 3, 4]);
    }
    await ws.dispose();
  });
});
