import type { Client } from 'graphql-ws';
import { directInput } from '../factories/messages';
import { SEND, type RouteView } from '../utils/documents';
import {
  connectWs,
  eventually,
  graphql,
  graphqlOk,
  LiveSubscription,
} from '../utils/graphql-client';
import { RedisServer } from '../utils/redis-server';
import { registerMailboxes } from '../utils/service';
import { ServiceProcess } from '../utils/service-process';
import { uniquePrefix } from '../utils/test-app';

describe('service processes killed and stopped', () => {
  jest.setTimeout(120_000);

  it('settles every pending delivery when one of three instances is killed (SIGKILL) during a retry storm', async () => {
    const redis = await RedisServer.start();
    const environment = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix(),
      // An unconfirmed delivery fails 3.5 s after its first attempt (0.5 + 1 + 2 s, no
      // jitter): time enough to confirm a third of them first on a loaded machine, where with
      // jittered waits of up to 0.2, 0.4 and 0.8 s some failed before their confirmation.
      ROUTER_MAX_RETRY_ATTEMPTS: '3',
      ROUTER_BASE_RETRY_DELAY: '0.5',
      ROUTER_MAX_RETRY_DELAY: '2',
      ROUTER_RETRY_JITTER: 'false',
      ROUTER_RETRY_CHECK_INTERVAL: '0.05',
      ROUTER_RETRY_LEASE: '1',
    };
    const services = [
      await ServiceProcess.start(environment),
      await ServiceProcess.start(environment),
      await ServiceProcess.start(environment),
    ];
    const [a, b, c] = services;
    const ws: Client = await connectWs(c.wsUrl);
    try {
      await registerMailboxes(a.baseUrl, 'origin', 'storm');
      const feed = new LiveSubscription<{ id: string }>(
        ws,
        'subscription { mailboxMessages(mailbox: "storm") { id deliveryAttempt } }',
        {},
        (data) => data.mailboxMessages as { id: string },
      );
      await eventually(
        async () =>
          (
            await graphqlOk<{ mailbox: { online: boolean } }>(
              b.baseUrl,
              '{ mailbox(name: "storm") { online } }',
            )
          ).mailbox.online,
      );
      const ids = await Promise.all(
        Array.from({ length: 60 }, async (_, i) => {
          const response = await graphql<{ sendMessage: RouteView }>(
            services[i % 3].baseUrl,
            SEND,
            {
              input: directInput('origin', 'storm', {
                requireConfirmation: true,
                content: `storm ${i}`,
              }),
            },
          );
          return response.data!.sendMessage.messageId;
        }),
      );
      // Confirm a third of them, so that both endings happen.
      const confirmed = ids.filter((_, i) => i % 3 === 0);
      await feed.waitFor(60);
      await Promise.all(
        confirmed.map((id) =>
          graphqlOk(
            b.baseUrl,
            'mutation ($id: ID!) { confirmDelivery(mailbox: "storm", messageId: $id) { status } }',
            { id },
          ),
        ),
      );
      await new Promise((resolve) => setTimeout(resolve, 150));
      await a.kill();

      await eventually(async () => {
        const statuses = await Promise.all(
          ids.map(
            async (id) =>
              (
                await graphqlOk<{ deliveryStatus: Array<{ status: string }> }>(
                  b.baseUrl,
                  'query ($id: ID!) { deliveryStatus(messageId: $id) { status } }',
                  { id },
                )
              ).deliveryStatus[0].status,
          ),
        );
        return statuses.every((status) => status === 'DELIVERED' || status === 'FAILED');
      }, 30_000);
      for (const id of confirmed) {
        const { deliveryStatus } = await graphqlOk<{ deliveryStatus: Array<{ status: string }> }>(
          b.baseUrl,
          'query ($id: ID!) { deliveryStatus(messageId: $id) { status } }',
          { id },
        );
        expect(deliveryStatus[0].status).toBe('DELIVERED');
      }
    } finally {
      await ws.dispose();
      await Promise.all(services.map((service) => service.stop()));
      await redis.destroy();
    }
  });

  it('on SIGTERM with 100 open subscriptions and sends in flight: nothing acknowledged lost, exit within the grace period', async () => {
    const redis = await RedisServer.start({ appendfsync: 'always' });
    const prefix = uniquePrefix();
    const service = await ServiceProcess.start({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      SHUTDOWN_GRACE_PERIOD: '8',
    });
    const clients: Client[] = [];
    const closeCodes: number[] = [];
    try {
      await registerMailboxes(service.baseUrl, 'sender', 'hub');
      const feeds: LiveSubscription<{ id: string }>[] = [];
      for (let c = 0; c < 10; c += 1) {
        const client = await connectWs(service.wsUrl);
        client.on('closed', (event) => closeCodes.push((event as { code: number }).code));
        clients.push(client);
        for (let s = 0; s < 10; s += 1) {
          feeds.push(
            new LiveSubscription(
              client,
              'subscription { mailboxMessages(mailbox: "hub") { id } }',
              {},
              (data) => data.mailboxMessages as { id: string },
            ),
          );
        }
      }
      await eventually(
        async () =>
          (
            await graphqlOk<{ mailbox: { online: boolean } }>(
              service.baseUrl,
              '{ mailbox(name: "hub") { online } }',
            )
          ).mailbox.online,
      );

      const acknowledged: string[] = [];
      let stopping = false;
      const senders = Array.from({ length: 16 }, async (_, worker) => {
        for (let i = 0; !stopping || i < 5; i += 1) {
          try {
            const response = await graphql<{ sendMessage: RouteView }>(service.baseUrl, SEND, {
              input: directInput('sender', 'hub', { content: `w${worker}-${i}` }),
            });
            if (response.data?.sendMessage) acknowledged.push(response.data.sendMessage.messageId);
          } catch {
            return; // the server is gone: no acknowledgement
          }
        }
      });
      // Stop in the middle of the traffic: after a hundred acknowledged sends.
      await eventually(() => acknowledged.length >= 100, 30_000);
      const signalled = Date.now();
      const exit = service.stop('SIGTERM');
      stopping = true;
      const code = await exit;
      const took = Date.now() - signalled;
      await Promise.all(senders);

      // What the service said, when it did not stop cleanly.
      if (code !== 0) console.log(service.output.join(''));
      expect(code).toBe(0);
      expect(took).toBeLessThan(8_000);
      await eventually(() => closeCodes.length === 10, 5_000);
      expect(closeCodes.every((closeCode) => closeCode === 1001)).toBe(true);
      expect(acknowledged.length).toBeGreaterThanOrEqual(100);

      // Every acknowledged send is in Redis, read by a fresh instance.
      const after = await ServiceProcess.start({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix });
      try {
        for (const id of acknowledged) {
          const { message } = await graphqlOk<{ message: { id: string } | null }>(
            after.baseUrl,
            'query ($id: ID!) { message(id: $id) { id } }',
            { id },
          );
          expect(message?.id).toBe(id);
        }
      } finally {
        await after.stop();
      }
    } finally {
      for (const client of clients) void client.dispose();
      await service.stop();
      await redis.destroy();
    }
  });
});
