import type { Client } from 'graphql-ws';
import type { Cluster, Redis } from 'ioredis';
import { MailboxRepository } from '../../src/mailboxes/mailbox.repository';
import type { SendMessageInput } from '../../src/messages/send-message.input';
import { MessageRouterService } from '../../src/routing/message-router.service';
import { broadcastInput, directInput } from '../factories/messages';
import {
  connectWs,
  eventually,
  graphql,
  graphqlOk,
  LiveSubscription,
} from '../utils/graphql-client';
import { MAILBOX_PAGE, SEND, type MessageView, type PageView } from '../utils/documents';
import { startRedisBackend, testTopology, type RedisBackend } from '../utils/redis-backend';
import {
  keysUnder,
  registerMailboxes,
  send,
  subscribeMailbox,
  waitForListeners,
} from '../utils/service';
import { startTestService, type TestApp } from '../utils/test-app';

const BASE = 0.3;
const CHECK_INTERVAL = 0.05;
const RETRIES = 3;
/** Scheduling on a loaded two-core machine: timers and Redis round trips, beyond the check interval. */
const SLACK_MS = 150;

const STATUS = `
  query Status($id: ID!) {
    deliveryStatus(messageId: $id) {
      messageId mailbox status nextRetryAt deliveredAt waitingForSubscriber reason
      attempts { number at latencyMs error }
    }
  }`;
const CONFIRM = `
  mutation Confirm($mailbox: String!, $id: ID!) {
    confirmDelivery(mailbox: $mailbox, messageId: $id) { status deliveredAt attempts { number latencyMs } }
  }`;
const DEAD_LETTERS = `
  query Dead($mailbox: String) {
    deadLetters(mailbox: $mailbox) { mailbox reason attempts deadLetteredAt message { id content } }
  }`;
const REDRIVE = `
  mutation Redrive($mailbox: String!, $id: ID!) {
    redriveDeadLetter(mailbox: $mailbox, messageId: $id) { status attempts { number } waitingForSubscriber }
  }`;
const PUSH_FIELDS = 'id content deliveryAttempt';
const FEED = `subscription Feed($mailbox: String!, $after: ID) { mailboxMessages(mailbox: $mailbox, after: $after) { ${PUSH_FIELDS} } }`;
const CHANGES = `subscription Changes($id: ID!) { deliveryStatusChanged(messageId: $id) { mailbox status attempts { number } } }`;

interface Confirmation {
  messageId: string;
  mailbox: string;
  status: 'PENDING' | 'DELIVERED' | 'FAILED' | 'EXPIRED';
  nextRetryAt: string | null;
  deliveredAt: string | null;
  waitingForSubscriber: boolean;
  reason: string | null;
  attempts: Array<{ number: number; at: string; latencyMs: number | null; error: string | null }>;
}

interface Pushed {
  id: string;
  content: string;
  deliveryAttempt: number | null;
}

describe(`delivery confirmation, retries, dead letters and expiry (${testTopology()})`, () => {
  let backend: RedisBackend;
  let redis: Redis | Cluster;
  let service: TestApp;
  let ws: Client;

  const status = async (id: string): Promise<Confirmation[]> =>
    (await graphqlOk<{ deliveryStatus: Confirmation[] }>(service.baseUrl, STATUS, { id }))
      .deliveryStatus;

  const feed = async (mailbox: string): Promise<LiveSubscription<Pushed>> => {
    const subscription = await subscribeMailbox(service, ws, mailbox);
    return subscription as unknown as LiveSubscription<Pushed>;
  };

  beforeAll(async () => {
    backend = await startRedisBackend();
    redis = backend.client();
    service = await startTestService(backend, {
      ROUTER_MAX_RETRY_ATTEMPTS: String(RETRIES),
      ROUTER_BASE_RETRY_DELAY: String(BASE),
      ROUTER_RETRY_EXPONENTIAL_BASE: '2',
      ROUTER_MAX_RETRY_DELAY: '5',
      ROUTER_RETRY_JITTER: 'false',
      ROUTER_RETRY_CHECK_INTERVAL: String(CHECK_INTERVAL),
      ROUTER_CLEANUP_INTERVAL: '0.2',
      ROUTER_CONFIRMATION_TTL: '60',
    });
    ws = await connectWs(service.wsUrl);
    await registerMailboxes(
      service.baseUrl,
      'sender',
      'deaf',
      'polite',
      'late',
      'brief',
      'watcher',
    );
  });

  afterAll(async () => {
    await ws.dispose();
    await service.close();
    await redis.quit();
    await backend.destroy();
  });

  it('pushes 1 + retries times at the policy gaps, then FAILED, dead-lettered, the sender told; redrive starts over', async () => {
    const deaf = await feed('deaf');
    const inbox = await feed('sender');
    const sent = await send(
      service.baseUrl,
      directInput('sender', 'deaf', { requireConfirmation: true, content: 'ack me' }),
    );
    expect(sent.status).toBe('SUCCESS');

    const pushes = await deaf.waitFor(1 + RETRIES, 10_000);
    expect(pushes.map((push) => [push.id, push.deliveryAttempt])).toEqual([
      [sent.messageId, 1],
      [sent.messageId, 2],
      [sent.messageId, 3],
      [sent.messageId, 4],
    ]);

    await eventually(async () => (await status(sent.messageId))[0].status === 'FAILED', 10_000);
    const [failed] = await status(sent.messageId);
    expect(failed).toMatchObject({
      mailbox: 'deaf',
      status: 'FAILED',
      reason: 'not confirmed after 4 attempts',
      nextRetryAt: null,
    });
    // The server's own attempt times: retry n comes BASE * 2^(n-1) after the attempt before, late by at most one check interval.
    const times = failed.attempts.map((attempt) => Date.parse(attempt.at));
    expect(failed.attempts.map((attempt) => attempt.number)).toEqual([1, 2, 3, 4]);
    for (let n = 1; n <= RETRIES; n += 1) {
      const gap = times[n] - times[n - 1];
      const expected = BASE * 2 ** (n - 1) * 1000;
      expect(gap).toBeGreaterThanOrEqual(expected);
      expect(gap).toBeLessThanOrEqual(expected + CHECK_INTERVAL * 1000 + SLACK_MS);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(deaf.values).toHaveLength(1 + RETRIES);

    const { deadLetters } = await graphqlOk<{
      deadLetters: Array<{
        mailbox: string;
        reason: string;
        attempts: number;
        message: { id: string };
      }>;
    }>(service.baseUrl, DEAD_LETTERS, { mailbox: 'deaf' });
    expect(deadLetters).toHaveLength(1);
    expect(deadLetters[0]).toMatchObject({
      mailbox: 'deaf',
      attempts: 4,
      reason: 'not confirmed after 4 attempts',
      message: { id: sent.messageId },
    });

    const [notice] = await inbox.waitFor(1);
    const { message } = await graphqlOk<{
      message: {
        sender: string;
        correlationId: string;
        metadata: Record<string, unknown>;
        contentType: string;
      };
    }>(
      service.baseUrl,
      '{ message(id: "' + notice.id + '") { sender correlationId metadata contentType } }',
    );
    expect(message).toEqual({
      sender: 'mailbox-router',
      correlationId: sent.messageId,
      contentType: 'application/json',
      metadata: {
        type: 'delivery.failed',
        messageId: sent.messageId,
        recipient: 'deaf',
        reason: 'not confirmed after 4 attempts',
        attempts: 4,
      },
    });

    const { redriveDeadLetter } = await graphqlOk<{
      redriveDeadLetter: { status: string; attempts: Array<{ number: number }> };
    }>(service.baseUrl, REDRIVE, { mailbox: 'deaf', id: sent.messageId });
    expect(redriveDeadLetter.status).toBe('PENDING');
    expect(redriveDeadLetter.attempts.map((attempt) => attempt.number)).toEqual([1]);
    const again = await deaf.waitFor(1 + RETRIES + 1);
    expect(again.at(-1)).toMatchObject({ id: sent.messageId, deliveryAttempt: 1 });
    const after = await graphqlOk<{ deadLetters: unknown[] }>(service.baseUrl, DEAD_LETTERS, {
      mailbox: 'deaf',
    });
    expect(after.deadLetters).toEqual([]);
    deaf.unsubscribe();
    inbox.unsubscribe();
  });

  it('stops at DELIVERED when the recipient confirms the second push; a second confirm changes nothing', async () => {
    const polite = await feed('polite');
    const sent = await send(
      service.baseUrl,
      directInput('sender', 'polite', { requireConfirmation: true }),
    );
    const pushes = await polite.waitFor(2, 5_000);
    expect(pushes.map((push) => push.deliveryAttempt)).toEqual([1, 2]);
    const confirmed = await graphqlOk<{
      confirmDelivery: {
        status: string;
        deliveredAt: string;
        attempts: Array<{ number: number; latencyMs: number | null }>;
      };
    }>(service.baseUrl, CONFIRM, { mailbox: 'polite', id: sent.messageId });
    expect(confirmed.confirmDelivery.status).toBe('DELIVERED');
    expect(confirmed.confirmDelivery.attempts.at(-1)?.latencyMs).toEqual(expect.any(Number));
    const second = await graphqlOk<{ confirmDelivery: { status: string; deliveredAt: string } }>(
      service.baseUrl,
      CONFIRM,
      {
        mailbox: 'polite',
        id: sent.messageId,
      },
    );
    expect(second.confirmDelivery).toMatchObject({
      status: 'DELIVERED',
      deliveredAt: confirmed.confirmDelivery.deliveredAt,
    });
    await new Promise((resolve) => setTimeout(resolve, BASE * 4 * 1000 + 300));
    expect(polite.values.filter((push) => push.id === sent.messageId)).toHaveLength(2);
    expect((await status(sent.messageId))[0]).toMatchObject({
      status: 'DELIVERED',
      nextRetryAt: null,
    });
    polite.unsubscribe();
  });

  it('spends no attempt without a subscriber and pushes as soon as one comes', async () => {
    const sent = await send(
      service.baseUrl,
      directInput('sender', 'late', { requireConfirmation: true, content: 'wait for me' }),
    );
    expect(sent.status).toBe('QUEUED');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await status(sent.messageId))[0]).toMatchObject({
      status: 'PENDING',
      attempts: [],
      waitingForSubscriber: true,
    });

    const late = new LiveSubscription<Pushed>(
      ws,
      FEED,
      { mailbox: 'late' },
      (data) => data.mailboxMessages as Pushed,
    );
    const [pushed] = await late.waitFor(1, 5_000);
    expect(pushed).toMatchObject({
      id: sent.messageId,
      content: 'wait for me',
      deliveryAttempt: 1,
    });
    const [state] = await status(sent.messageId);
    expect(state.attempts).toHaveLength(1);
    expect(state.waitingForSubscriber).toBe(false);
    await graphqlOk(service.baseUrl, CONFIRM, { mailbox: 'late', id: sent.messageId });
    late.unsubscribe();
  });

  it('turns an unconfirmed message with ttlSeconds 1 EXPIRED, never shows it again, and cleanup leaves no key with its id', async () => {
    const inbox = await feed('sender');
    const sent = await send(
      service.baseUrl,
      directInput('sender', 'brief', { requireConfirmation: true, ttlSeconds: 1 }),
    );
    // EXPIRED lasts only until the cleanup loop purges the message and its confirmation (the
    // same moment, give or take a run): the sender's notice is the lasting evidence.
    const told = async (): Promise<boolean> => {
      for (const notice of inbox.values) {
        const { message } = await graphqlOk<{
          message: { correlationId: string; metadata: Record<string, unknown> } | null;
        }>(service.baseUrl, '{ message(id: "' + notice.id + '") { correlationId metadata } }');
        if (
          message?.correlationId === sent.messageId &&
          message.metadata.type === 'delivery.expired' &&
          message.metadata.recipient === 'brief'
        )
          return true;
      }
      return false;
    };
    await eventually(told, 10_000);

    const read = await graphql<{ message: null }>(
      service.baseUrl,
      '{ message(id: "' + sent.messageId + '") { id } }',
    );
    expect(read.data).toEqual({ message: null });
    const { mailbox } = await graphqlOk<{ mailbox: { messages: PageView } }>(
      service.baseUrl,
      MAILBOX_PAGE,
      { name: 'brief' },
    );
    expect(mailbox.messages.nodes.map((node: MessageView) => node.id)).not.toContain(
      sent.messageId,
    );
    const replay = new LiveSubscription<Pushed>(
      ws,
      FEED,
      { mailbox: 'brief', after: '0' },
      (data) => data.mailboxMessages as Pushed,
    );
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(replay.values.map((push) => push.id)).not.toContain(sent.messageId);
    replay.unsubscribe();

    await eventually(async () => {
      const keys = await keysUnder(redis, service.prefix);
      return keys.every((key) => !key.includes(sent.messageId));
    }, 5_000);
    const members = await Promise.all(
      (await keysUnder(redis, service.prefix))
        .filter(
          (key) =>
            key.includes(':{schedule}:') || key.endsWith(':messages') || key.endsWith(':pending'),
        )
        .map(async (key) => {
          const type = await redis.type(key);
          return type === 'zset' ? redis.zrange(key, '0', '-1') : [];
        }),
    );
    expect(members.flat().filter((member) => member.includes(sent.messageId))).toEqual([]);
    inbox.unsubscribe();
  });

  it('lets a sender wait on deliveryStatusChanged instead of polling', async () => {
    const watcher = await feed('watcher');
    const sent = await send(
      service.baseUrl,
      directInput('sender', 'watcher', { requireConfirmation: true }),
    );
    const changes = new LiveSubscription<{ status: string; attempts: Array<{ number: number }> }>(
      ws,
      CHANGES,
      { id: sent.messageId },
      (data) =>
        data.deliveryStatusChanged as { status: string; attempts: Array<{ number: number }> },
    );
    await watcher.waitFor(1);
    await waitForListeners(
      service,
      `${service.prefix}delivery_confirmation:{${sent.messageId}}:events`,
      1,
    );
    await graphqlOk(service.baseUrl, CONFIRM, { mailbox: 'watcher', id: sent.messageId });
    // The current state comes first (PENDING, unless the confirmation beat the read), then
    // the change.
    await eventually(() => changes.values.some((value) => value.status === 'DELIVERED'), 5_000);
    const delivered = changes.values.at(-1);
    expect(delivered).toMatchObject({
      mailbox: 'watcher',
      status: 'DELIVERED',
      attempts: [{ number: 1 }],
    });
    expect(changes.values.slice(0, -1).every((value) => value.status === 'PENDING')).toBe(true);
    changes.unsubscribe();
    watcher.unsubscribe();
  });

  it('counts in routerStatistics and on /metrics', async () => {
    // Counted over this file's sends: five routed; polite, late and watcher confirmed; deaf
    // failed after three retries and, redriven, awaits confirmation again; polite had one retry.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const { routerStatistics } = await graphqlOk<{
      routerStatistics: Record<string, number | boolean>;
    }>(
      service.baseUrl,
      '{ routerStatistics { messagesRouted messagesDelivered messagesFailed messagesRetried routingErrors validationErrors activeConfirmations pendingDeliveries running } }',
    );
    expect(routerStatistics).toEqual({
      messagesRouted: 5,
      messagesDelivered: 3,
      messagesFailed: 1,
      messagesRetried: 4,
      routingErrors: 0,
      validationErrors: 0,
      activeConfirmations: 1,
      pendingDeliveries: 0,
      running: true,
    });
    await graphql(
      service.baseUrl,
      'mutation { sendMessage(input: { sender: "a:b", mode: BROADCAST, content: "x" }) { status } }',
    );
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const metrics = await (await fetch(`${service.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/^mailbox_messages_routed_total 5$/m);
    expect(metrics).toMatch(/^mailbox_validation_errors_total 1$/m);
    expect(metrics).toMatch(/^mailbox_messages_failed_total 1$/m);
    expect(metrics).toMatch(/^mailbox_background_job_up\{job="delivery-retry"\} 1/m);
    const ready = (await (await fetch(`${service.baseUrl}/health/ready`)).json()) as {
      info: { jobs: { status: string } };
    };
    expect(ready.info.jobs.status).toBe('up');
  });
});

describe(`tracked sends at the edges (${testTopology()})`, () => {
  let backend: RedisBackend;
  let redis: Redis | Cluster;
  let service: TestApp;
  let ws: Client;

  beforeAll(async () => {
    backend = await startRedisBackend();
    redis = backend.client();
    service = await startTestService(backend, {
      ROUTER_RETRY_CHECK_INTERVAL: '0.05',
      ROUTER_RETRY_LEASE: '0.3',
    });
    ws = await connectWs(service.wsUrl);
    await registerMailboxes(service.baseUrl, 'origin', 'resumer', 'flaky');
  });

  afterAll(async () => {
    await ws.dispose();
    await service.close();
    await redis.quit();
    await backend.destroy();
  });

  it('leaves no confirmation, schedule entry or key behind when a tracked send is refused', async () => {
    const response = await graphql(service.baseUrl, SEND, {
      input: directInput('origin', 'nobody', { requireConfirmation: true, ttlSeconds: 60 }),
    });
    expect(response.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    const keys = await keysUnder(redis, service.prefix);
    expect(
      keys.filter((key) => key.includes('message:') || key.includes('delivery_confirmation:')),
    ).toEqual([]);
    for (const key of keys.filter((name) => name.includes('{schedule}'))) {
      expect(await redis.zcard(key)).toBe(0);
    }
  });

  it('counts a replay as the first attempt and says so on the pushed message', async () => {
    const sent = await send(
      service.baseUrl,
      directInput('origin', 'resumer', { requireConfirmation: true }),
    );
    expect(sent.status).toBe('QUEUED');
    const feed = new LiveSubscription<Pushed>(
      ws,
      FEED,
      { mailbox: 'resumer', after: '0' },
      (data) => data.mailboxMessages as Pushed,
    );
    const [replayed] = await feed.waitFor(1);
    expect(replayed).toMatchObject({ id: sent.messageId, deliveryAttempt: 1 });
    const { deliveryStatus } = await graphqlOk<{ deliveryStatus: Confirmation[] }>(
      service.baseUrl,
      STATUS,
      { id: sent.messageId },
    );
    expect(deliveryStatus[0].attempts.map((attempt) => attempt.number)).toEqual([1]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The arrival of the subscriber did not push attempt 1 a second time (a retry, attempt 2,
    // may come once the base delay has passed on a slow machine).
    expect(feed.values.filter((pushed) => pushed.deliveryAttempt === 1)).toHaveLength(1);
    feed.unsubscribe();
  });

  it('puts a tracked broadcast in a mailbox its send failed to reach, and pushes it as the first attempt', async () => {
    const flaky = await subscribeMailbox(service, ws, 'flaky');
    const mailboxes = service.app.get(MailboxRepository);
    const enqueue = mailboxes.enqueue.bind(mailboxes);
    let refused = 0;
    const spy = jest
      .spyOn(mailboxes, 'enqueue')
      .mockImplementation((name, id, createdAt, payload, tracked) => {
        if (name === 'flaky' && refused === 0) {
          refused += 1;
          return Promise.reject(new Error('Connection is closed.'));
        }
        return enqueue(name, id, createdAt, payload, tracked);
      });
    try {
      // Sent by the application whose repository fails (over HTTP, Cluster and Sentinel runs
      // reach another one).
      const sent = await service.app
        .get(MessageRouterService)
        .route(broadcastInput('origin', { requireConfirmation: true }) as SendMessageInput);
      expect(refused).toBe(1);
      expect(sent.status).toBe('PARTIAL');
      const [pushed] = await flaky.waitFor(1, 5_000);
      expect(pushed.id).toBe(sent.messageId);
      // The enqueue publishes the push; the attempt it counts as is written just after.
      const attempts = async (): Promise<number[] | undefined> => {
        const { deliveryStatus } = await graphqlOk<{ deliveryStatus: Confirmation[] }>(
          service.baseUrl,
          STATUS,
          { id: sent.messageId },
        );
        const state = deliveryStatus.find((confirmation) => confirmation.mailbox === 'flaky');
        return state?.attempts.map((attempt) => attempt.number);
      };
      await eventually(async () => (await attempts())?.length === 1);
      expect(await attempts()).toEqual([1]);
      expect(await mailboxes.holds('flaky', sent.messageId)).toBe(true);
    } finally {
      spy.mockRestore();
      flaky.unsubscribe();
    }
  });
});
