import { AppConfigService } from '../../src/config/app-config.service';
import { DeliveryConfirmationRepository } from '../../src/delivery/delivery-confirmation.repository';
import { MailboxFeedService } from '../../src/mailboxes/mailbox-feed.service';
import type { Message } from '../../src/messages/message.model';
import type { SendMessageInput } from '../../src/messages/send-message.input';
import { RedisPubSubService } from '../../src/redis/redis-pubsub.service';
import { MessageRouterService } from '../../src/routing/message-router.service';
import { TopicFeedService } from '../../src/topics/topic-feed.service';
import { directInput, topicInput } from '../factories/messages';
import { eventually } from '../utils/graphql-client';
import { RedisServer } from '../utils/redis-server';
import { registerMailboxes, send } from '../utils/service';
import { startTestApp, type TestApp } from '../utils/test-app';

/**
 * A tracked delivery whose retry finds no subscriber waits for one. A feed's subscriber
 * connection that drops and comes back is such a subscriber arriving: what went waiting
 * while it was away is pushed once it is back.
 */
describe('a feed whose subscriber connection drops and comes back', () => {
  let redis: RedisServer;
  let service: TestApp;

  beforeAll(async () => {
    redis = await RedisServer.start();
    // No retry loop of its own in the way: the tests make the decisions they look at.
    service = await startTestApp(redis.url, { ROUTER_RETRY_CHECK_INTERVAL: '86400' });
    await registerMailboxes(service.baseUrl, 'planner', 'worker', 'offline');
  });

  afterAll(async () => {
    await service?.close();
    await redis?.destroy();
  });

  it('pushes the deliveries that went waiting for a subscriber meanwhile', async () => {
    const feed = await service.app.get(MailboxFeedService).open('worker', null);
    const received: Message[] = [];
    void (async () => {
      for await (const message of feed) received.push(message);
    })();
    const pubsub = service.app.get(RedisPubSubService);
    await eventually(() => Promise.resolve(pubsub.channelCount > 0));
    const sent = await send(
      service.baseUrl,
      directInput('planner', 'worker', { requireConfirmation: true, content: 'ack me' }),
    );
    await eventually(() => Promise.resolve(received.length === 1));
    expect(received[0]).toMatchObject({ id: sent.messageId, deliveryAttempt: 1 });

    // Its retry came while the feed could not be reached, and found no subscriber: it waits.
    const confirmations = service.app.get(DeliveryConfirmationRepository);
    const keepFinishedMs = service.app.get(AppConfigService).cleanup.confirmationTtlSeconds * 1000;
    await confirmations.waitForSubscriber(
      sent.messageId,
      'worker',
      'NORMAL',
      1,
      null,
      keepFinishedMs,
      Date.now(),
    );
    const waiting = await confirmations.find(sent.messageId);
    expect(waiting?.recipients.get('worker')).toMatchObject({ waiting: true });

    // The subscriber connection drops; Redis clients reconnect by themselves.
    const admin = redis.client();
    try {
      expect(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
    } finally {
      admin.disconnect();
    }
    await eventually(() => Promise.resolve(received.length === 2), 10_000);
    expect(received[1]).toMatchObject({ id: sent.messageId, deliveryAttempt: 2 });
    await feed.return?.();
  }, 30_000);

  it('catches a topic feed up with what was published while it was away, once each', async () => {
    const feed = await service.app.get(TopicFeedService).open('reconnect.#', null);
    const received: string[] = [];
    void (async () => {
      for await (const message of feed) received.push(message.id);
    })();
    const router = service.app.get(MessageRouterService);
    const publish = async (content: string): Promise<string> =>
      (
        await router.route(
          topicInput('planner', 'reconnect.status', { content }) as unknown as SendMessageInput,
        )
      ).messageId;
    const before = await publish('before the drop');
    await eventually(() => Promise.resolve(received.length === 1));

    const admin = redis.client();
    const during: string[] = [];
    try {
      expect(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
      // Published before the subscriber connection is back (ioredis waits 100 ms at first).
      for (let i = 0; i < 3; i++) during.push(await publish(`during the drop ${i}`));
    } finally {
      admin.disconnect();
    }
    await eventually(() => Promise.resolve(received.length >= 4), 10_000);
    const after = await publish('after the drop');
    await eventually(() => Promise.resolve(received.includes(after)), 10_000);
    expect(received).toEqual([before, ...during, after]);
    await feed.return?.();
  }, 30_000);

  it('catches a topic feed up with what was published during a drop that came back while it replayed', async () => {
    const router = service.app.get(MessageRouterService);
    const publish = async (topic: string, content: string): Promise<string> =>
      (await router.route(topicInput('planner', topic, { content }) as unknown as SendMessageInput))
        .messageId;
    // A topic the replay reads to its end with its first page, and a backlog of more bytes
    // than a feed buffers before its replay waits for the consumer.
    const stored = [await publish('held.short', 'read to its end at once')];
    const large = 'x'.repeat(1024 * 1024);
    for (let n = 0; n < 12; n += 1) stored.push(await publish('held.long', large));
    const feed = await service.app.get(TopicFeedService).open('held.#', '0');
    // Its first message out: the replay has read every topic's first page, and now waits for
    // a consumer that reads nothing more until the drop is over.
    expect((await feed.next()).value).toMatchObject({ id: stored[0] });

    const pubsub = service.app.get(RedisPubSubService);
    let reconnected = false;
    const stopWatching = pubsub.onReconnect(() => {
      reconnected = true;
    });
    const admin = redis.client();
    const during: string[] = [];
    try {
      expect(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')).toBeGreaterThan(0);
      // Published before the subscriber connection is back (ioredis waits 100 ms at first).
      during.push(await publish('held.short', 'during the drop, to a topic read to its end'));
      during.push(await publish('held.new', 'during the drop, to a topic new to the feed'));
    } finally {
      admin.disconnect();
    }
    await eventually(() => Promise.resolve(reconnected), 10_000);
    stopWatching();
    const after = await publish('held.short', 'after the drop');

    const received = [stored[0]];
    while (!received.includes(after)) {
      const next = await feed.next();
      if (next.done) break;
      received.push(next.value.id);
    }
    expect(received).toEqual([...stored, ...during, after]);
    await feed.return?.();
  }, 60_000);

  it('pushes every waiting delivery to a subscriber that arrives, past the first thousand', async () => {
    const router = service.app.get(MessageRouterService);
    const ids = new Set<string>();
    for (let index = 0; index < 1_100; index += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, offset) =>
          router.route(
            directInput('planner', 'offline', {
              requireConfirmation: true,
              content: `waiting ${index + offset}`,
            }) as unknown as SendMessageInput,
          ),
        ),
      );
      for (const sent of batch) ids.add(sent.messageId);
    }
    const feed = await service.app.get(MailboxFeedService).open('offline', null);
    const received = new Set<string>();
    void (async () => {
      for await (const message of feed) received.add(message.id);
    })();
    await eventually(() => Promise.resolve(received.size === ids.size), 20_000);
    expect([...received].every((id) => ids.has(id))).toBe(true);
    await feed.return?.();
  }, 60_000);
});
