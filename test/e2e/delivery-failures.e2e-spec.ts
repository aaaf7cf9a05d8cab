import { AppConfigService } from '../../src/config/app-config.service';
import { DeliveryConfirmationRepository } from '../../src/delivery/delivery-confirmation.repository';
import { DeliveryService } from '../../src/delivery/delivery.service';
import { directInput } from '../factories/messages';
import { graphql } from '../utils/graphql-client';
import { startRedisBackend, testTopology, type RedisBackend } from '../utils/redis-backend';
import { registerMailboxes, send } from '../utils/service';
import { startTestService, type TestApp } from '../utils/test-app';

/**
 * A delivery fails in steps: FAILED first, then its dead letter, then off the retry
 * schedule. A failure that stopped after the first (the instance died, Redis failed between
 * the writes) leaves its schedule entry, and the next decision finishes it.
 */
describe(`a delivery failure cut short (${testTopology()})`, () => {
  let redis: RedisBackend;
  let service: TestApp;

  beforeAll(async () => {
    redis = await startRedisBackend();
    // No retry loop of its own in the way: the tests make the decisions they look at (on
    // Cluster and Sentinel through one instance, and read what it did through the other).
    service = await startTestService(redis, { ROUTER_RETRY_CHECK_INTERVAL: '86400' });
    await registerMailboxes(service.baseUrl, 'planner', 'deaf');
  });

  afterAll(async () => {
    await service?.close();
    await redis?.destroy();
  });

  it('is finished by the next decision: its dead letter filed, its sender told once', async () => {
    const sent = await send(
      service.baseUrl,
      directInput('planner', 'deaf', { requireConfirmation: true, content: 'never confirmed' }),
    );
    const confirmations = service.app.get(DeliveryConfirmationRepository);
    const keepFinishedMs = service.app.get(AppConfigService).cleanup.confirmationTtlSeconds * 1000;
    const now = Date.now();
    // The failure's first write, and the schedule entry it had not removed yet.
    const failed = await confirmations.update(
      sent.messageId,
      'deaf',
      'fail',
      keepFinishedMs,
      now,
      0,
      'not confirmed after 3 attempts',
    );
    expect(failed?.changed).toBe(true);
    await confirmations.schedule(sent.messageId, 'deaf', 'NORMAL', now - 1);

    const delivery = service.app.get(DeliveryService);
    expect(await delivery.processDue()).toBe(1);
    expect(await delivery.processDue()).toBe(0);

    const letters = await graphql<{ deadLetters: Array<{ message: { id: string } }> }>(
      service.baseUrl,
      '{ deadLetters(mailbox: "deaf", first: 10) { message { id } } }',
    );
    expect(letters.data?.deadLetters.map((letter) => letter.message.id)).toEqual([sent.messageId]);
    const inbox = await graphql<{
      mailbox: { messages: { nodes: Array<{ metadata: { type?: string; messageId?: string } }> } };
    }>(
      service.baseUrl,
      '{ mailbox(name: "planner") { messages(first: 10) { nodes { metadata } } } }',
    );
    const notices = inbox.data!.mailbox.messages.nodes.filter(
      (node) => node.metadata?.type === 'delivery.failed',
    );
    expect(notices.map((node) => node.metadata.messageId)).toEqual([sent.messageId]);
  });
});
