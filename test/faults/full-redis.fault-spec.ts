import type { Redis } from 'ioredis';
import { directInput, broadcastInput, topicInput, type SendInput } from '../factories/messages';
import { MAILBOX_PAGE, REGISTER, SEND, SEND_MANY, type RouteView } from '../utils/documents';
import { eventually, graphql, type GraphqlResponse } from '../utils/graphql-client';
import { REFUSED_RETRY_AFTER_SECONDS } from '../../src/redis/redis.errors';
import { RedisServer } from '../utils/redis-server';
import { startTestApp, type TestApp } from '../utils/test-app';

const ADMIN = 'adm_full-redis-fault-test-admin-token-0123456789';
const admin = { authorization: `Bearer ${ADMIN}` };

interface RedisHealth {
  status: string;
  info: { redis?: { status: string; writable?: boolean; refusal?: string } };
}

interface Page {
  mailbox: { messages: { nodes: Array<{ id: string; content: string; sender: string }> } };
}

/** maxmemory below what Redis holds already: with noeviction (the default) every write is refused. */
async function fill(client: Redis): Promise<void> {
  await client.config('SET', 'maxmemory', '1');
}

async function makeRoom(client: Redis): Promise<void> {
  await client.config('SET', 'maxmemory', '0');
}

/** The code, status and retry hint of a response's first error. */
function refusalOf(response: GraphqlResponse<unknown> | null): Record<string, unknown> {
  const extensions = response?.errors?.[0]?.extensions ?? {};
  return {
    code: extensions.code,
    status: extensions.status,
    retryAfterSeconds: extensions.retryAfterSeconds,
  };
}

async function queueSize(service: TestApp, headers: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${service.baseUrl}/metrics`, { headers })).text();
  return Number(/^mailbox_outage_queue_size (\d+)$/m.exec(text)?.[1]);
}

async function ready(service: TestApp): Promise<{ status: number; body: RedisHealth }> {
  // The admin's token: the probe shows the details (`writable`, `refusal`) to the admin alone.
  const response = await fetch(`${service.baseUrl}/health/ready`, { headers: admin });
  return { status: response.status, body: (await response.json()) as RedisHealth };
}

async function register(service: TestApp, name: string): Promise<string> {
  const response = await graphql<{ registerMailbox: { token: string } }>(
    service.baseUrl,
    REGISTER,
    { name },
    admin,
  );
  if (!response.data) throw new Error(JSON.stringify(response.errors));
  return response.data.registerMailbox.token;
}

function sendAs(
  service: TestApp,
  token: string,
  input: SendInput,
): Promise<GraphqlResponse<{ sendMessage: RouteView }>> {
  return graphql<{ sendMessage: RouteView }>(
    service.baseUrl,
    SEND,
    { input },
    { authorization: `Bearer ${token}` },
  );
}

async function keys(client: Redis, prefix: string): Promise<string[]> {
  return (await client.keys(`${prefix}*`)).sort();
}

describe('a full Redis (maxmemory reached, noeviction)', () => {
  jest.setTimeout(60_000);
  let redis: RedisServer;
  let client: Redis;
  let service: TestApp;
  let tokens: Record<string, string>;

  beforeAll(async () => {
    redis = await RedisServer.start();
    client = redis.client();
    service = await startTestApp(redis.url, {
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      RATE_LIMIT_PER_MINUTE: '600',
    });
    tokens = {};
    for (const name of ['writer', 'reader', 'other']) tokens[name] = await register(service, name);
    // The keys a send touches besides its own exist from here on (rate-limit bucket, counters).
    const first = await sendAs(service, tokens.writer, directInput('writer', 'reader'));
    expect(first.data?.sendMessage.status).toBeDefined();
    await eventually(
      async () => (await client.exists(`${service.prefix}stats:{router}:counters`)) === 1,
    );
  });

  afterEach(async () => {
    await makeRoom(client);
  });

  afterAll(async () => {
    await service?.close();
    client?.disconnect();
    await redis?.destroy();
  });

  it('refuses every kind of send with STORE_FULL and a retry hint, queues none, and leaves no keys behind', async () => {
    const before = await keys(client, service.prefix);
    await fill(client);

    const inputs = [
      directInput('writer', 'reader'),
      directInput('writer', 'reader', { requireConfirmation: true, ttlSeconds: 60 }),
      broadcastInput('writer', { requireConfirmation: true, ttlSeconds: 60 }),
      topicInput('writer', 'news.full'),
      directInput('writer', 'reader', { idempotencyKey: 'full-1' }),
    ];
    for (const input of inputs) {
      const refused = await sendAs(service, tokens.writer, input);
      expect(refused.data?.sendMessage ?? null).toBeNull();
      expect(refusalOf(refused)).toEqual({
        code: 'STORE_FULL',
        status: 507,
        retryAfterSeconds: REFUSED_RETRY_AFTER_SECONDS,
      });
      expect(refused.errors?.[0].message).toMatch(/full/);
    }
    const batch = await graphql<{ sendMessages: RouteView[] }>(
      service.baseUrl,
      SEND_MANY,
      { inputs: [directInput('writer', 'reader'), directInput('writer', 'other')] },
      { authorization: `Bearer ${tokens.writer}` },
    );
    expect(batch.data?.sendMessages.map((routed) => [routed.status, routed.errorCode])).toEqual([
      ['FAILED', 'STORE_FULL'],
      ['FAILED', 'STORE_FULL'],
    ]);
    // Not accepted into the local queue: nothing acknowledged that a restart could lose.
    expect(await queueSize(service, admin)).toBe(0);

    await makeRoom(client);
    expect(await keys(client, service.prefix)).toEqual(before);

    const stored = await sendAs(service, tokens.writer, directInput('writer', 'reader'));
    expect(stored.errors).toBeUndefined();
    expect(stored.data?.sendMessage.messageId).toEqual(expect.any(String));
  });

  it('keeps reads working for a mailbox token, rate limit on, with no internal error anywhere', async () => {
    await fill(client);
    for (let i = 0; i < 5; i += 1) {
      const page = await graphql<Page>(
        service.baseUrl,
        MAILBOX_PAGE,
        { name: 'reader', first: 10 },
        { authorization: `Bearer ${tokens.reader}` },
      );
      expect(page.errors).toBeUndefined();
      expect(page.data?.mailbox.messages.nodes.length).toBeGreaterThan(0);
    }
    const refused = await sendAs(service, tokens.reader, directInput('reader', 'writer'));
    expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(['STORE_FULL']);
  });

  it('stays ready while Redis refuses writes, saying so, and says it takes writes again after', async () => {
    await fill(client);
    const full = await ready(service);
    // Reads work on every instance and no instance could store a send: see RedisHealthIndicator.
    expect(full.status).toBe(200);
    expect(full.body.info.redis).toMatchObject({ status: 'up', writable: false });
    expect(full.body.info.redis?.refusal).toMatch(/^OOM/);

    await makeRoom(client);
    expect((await ready(service)).body.info.redis).toMatchObject({ status: 'up', writable: true });
  });

  it('keeps sends queued during an outage while Redis comes back full, refusing new ones, and stores them in order once it has room', async () => {
    // A Redis that restarts full: its data is kept (appendfsync always) and its maxmemory is 1.
    const restarting = await RedisServer.start({
      appendfsync: 'always',
      extraArgs: ['--maxmemory', '1'],
    });
    const control = restarting.client();
    await makeRoom(control);
    const app = await startTestApp(restarting.url);
    try {
      for (const name of ['a', 'b']) await graphql(app.baseUrl, REGISTER, { name });
      await restarting.stop();
      await eventually(async () => (await fetch(`${app.baseUrl}/health/ready`)).status === 503);
      const queued: string[] = [];
      for (let i = 0; i < 5; i += 1) {
        const response = await graphql<{ sendMessage: RouteView }>(app.baseUrl, SEND, {
          input: directInput('a', 'b', { content: `queued ${i}` }),
        });
        expect(response.data?.sendMessage.status).toBe('QUEUED');
        queued.push(response.data!.sendMessage.messageId);
      }

      await restarting.start();
      await eventually(async () => (await ready(app)).status === 200, 15_000);
      // The first try of the queue's head finds Redis full; a send accepted before that is
      // queued behind the others, and stored with them.
      let refusal: GraphqlResponse<{ sendMessage: RouteView }> | null = null;
      for (let i = 0; refusal === null && i < 50; i += 1) {
        const response = await graphql<{ sendMessage: RouteView }>(app.baseUrl, SEND, {
          input: directInput('a', 'b', { content: `late ${i}` }),
        });
        if (response.data?.sendMessage.status === 'QUEUED')
          queued.push(response.data.sendMessage.messageId);
        else refusal = response;
      }
      expect(refusalOf(refusal)).toEqual({
        code: 'STORE_FULL',
        status: 507,
        retryAfterSeconds: REFUSED_RETRY_AFTER_SECONDS,
      });
      expect(await queueSize(app)).toBe(queued.length);

      const room = restarting.client();
      await makeRoom(room);
      room.disconnect();
      await eventually(async () => (await queueSize(app)) === 0, 10_000);
      const page = await graphql<Page>(app.baseUrl, MAILBOX_PAGE, { name: 'b', first: 10 });
      expect(page.data?.mailbox.messages.nodes.map((message) => message.id)).toEqual(queued);
    } finally {
      control.disconnect();
      await app.close();
      await restarting.destroy();
    }
  });

  it('drops a queued send that Redis refuses for good once it is back, tells its sender, and stores the sends after it', async () => {
    const restarting = await RedisServer.start({ appendfsync: 'always' });
    const control = restarting.client();
    const app = await startTestApp(restarting.url);
    try {
      for (const name of ['a', 'broken', 'c']) await graphql(app.baseUrl, REGISTER, { name });
      // Damaged data: the index of `broken` holds a string, so every store into it fails
      // with WRONGTYPE, now and after any wait.
      await control.set(`${app.prefix}mailbox:{broken}:messages`, 'not a sorted set');
      await restarting.stop();
      await eventually(async () => (await fetch(`${app.baseUrl}/health/ready`)).status === 503);
      const sendQueued = async (target: string, content: string): Promise<string> => {
        const response = await graphql<{ sendMessage: RouteView }>(app.baseUrl, SEND, {
          input: directInput('a', target, { content }),
        });
        expect(response.data?.sendMessage.status).toBe('QUEUED');
        return response.data!.sendMessage.messageId;
      };
      const doomed = await sendQueued('broken', 'never stored');
      const after = [
        await sendQueued('c', 'one'),
        await sendQueued('c', 'two'),
        await sendQueued('c', 'three'),
      ];

      await restarting.start();
      await eventually(
        async () => (await ready(app)).status === 200 && (await queueSize(app)) === 0,
        15_000,
      );
      const stored = await graphql<Page>(app.baseUrl, MAILBOX_PAGE, { name: 'c', first: 10 });
      expect(stored.data?.mailbox.messages.nodes.map((message) => message.id)).toEqual(after);
      const notices = await graphql<{
        mailbox: {
          messages: {
            nodes: Array<{ sender: string; correlationId: string; metadata: { type: string } }>;
          };
        };
      }>(app.baseUrl, MAILBOX_PAGE, { name: 'a', first: 10 });
      expect(
        notices.data?.mailbox.messages.nodes.map((notice) => [
          notice.sender,
          notice.correlationId,
          notice.metadata.type,
        ]),
      ).toEqual([['mailbox-router', doomed, 'delivery.failed']]);
      const message = await graphql<{ message: unknown }>(
        app.baseUrl,
        'query ($id: ID!) { message(id: $id) { id } }',
        { id: doomed },
      );
      expect(message.data?.message ?? null).toBeNull();

      // A new send to it is refused at once, never queued and never an internal error.
      const refused = await graphql<{ sendMessage: RouteView }>(app.baseUrl, SEND, {
        input: directInput('a', 'broken'),
      });
      expect(refusalOf(refused)).toEqual({
        code: 'SERVICE_UNAVAILABLE',
        status: 503,
        retryAfterSeconds: REFUSED_RETRY_AFTER_SECONDS,
      });
      expect(await queueSize(app)).toBe(0);
    } finally {
      control.disconnect();
      await app.close();
      await restarting.destroy();
    }
  });
});
