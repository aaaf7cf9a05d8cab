import type { Client } from 'graphql-ws';
import type { Redis } from 'ioredis';
import { directInput, topicInput } from '../factories/messages';
import { connectWs, graphql, LiveSubscription } from '../utils/graphql-client';
import {
  MAILBOX_FEED,
  MAILBOX_PAGE,
  REGISTER,
  SEND,
  SEND_MANY,
  TOPIC_FEED,
  TOPIC_PAGE,
} from '../utils/documents';
import { RedisServer } from '../utils/redis-server';
import { DOCUMENTED_KEY, keysUnder, registerMailboxes } from '../utils/service';
import { startTestApp, type TestApp } from '../utils/test-app';

const BAD_NAMES = [
  'a:b',
  '*',
  '{x}',
  '',
  'x'.repeat(129),
  'a\u0000b',
  'a b',
  'a?b',
  '[ab]',
  '.dot',
  'ü',
];

describe('bad input', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let service: TestApp;
  let ws: Client;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    service = await startTestApp(redisServer.url);
    ws = await connectWs(service.wsUrl);
    await registerMailboxes(service.baseUrl, 'alice', 'gone');
    await graphql(service.baseUrl, 'mutation { deactivateMailbox(name: "gone") { active } }');
  });

  afterAll(async () => {
    await ws.dispose();
    await service.close();
    await redis.quit();
    await redisServer.destroy();
  });

  /** No key under the test's prefix holds the bad text, and every key is of the documented layout. */
  async function expectNoKeyWith(text: string): Promise<void> {
    const keys = await keysUnder(redis, service.prefix);
    if (text.length > 0) expect(keys.filter((key) => key.includes(text))).toEqual([]);
    for (const key of keys) {
      expect(key.slice(service.prefix.length)).toMatch(DOCUMENTED_KEY);
    }
  }

  function expectError(
    response: { errors?: Array<{ message: string; extensions?: Record<string, unknown> }> },
    code: string,
    field: RegExp,
  ): void {
    expect(response.errors).toHaveLength(1);
    const [error] = response.errors!;
    expect(error.extensions?.code).toBe(code);
    expect(error.message).toMatch(field);
    expect(JSON.stringify(error)).not.toMatch(/stack|at \w+ \(/);
  }

  it.each(BAD_NAMES)('a send to mailbox %j is BAD_USER_INPUT naming input.target', async (name) => {
    const response = await graphql(service.baseUrl, SEND, { input: directInput('alice', name) });
    expectError(response, 'BAD_USER_INPUT', /input\.target/);
    expect(response.errors![0].extensions?.field).toBe('input.target');
    await expectNoKeyWith(name);
  });

  it.each(BAD_NAMES)('a sender %j is BAD_USER_INPUT naming input.sender', async (name) => {
    const response = await graphql(service.baseUrl, SEND, { input: directInput(name, 'alice') });
    expectError(response, 'BAD_USER_INPUT', /input\.sender/);
    await expectNoKeyWith(name);
  });

  it.each(BAD_NAMES)('registering %j is BAD_USER_INPUT naming name', async (name) => {
    const response = await graphql(service.baseUrl, REGISTER, { name });
    expectError(response, 'BAD_USER_INPUT', /^name: /);
    await expectNoKeyWith(name);
  });

  it.each(BAD_NAMES)('reading mailbox %j is BAD_USER_INPUT', async (name) => {
    const response = await graphql(service.baseUrl, MAILBOX_PAGE, { name });
    expectError(response, 'BAD_USER_INPUT', /^name: /);
  });

  it.each([
    'agents.*',
    'agents.#',
    '*',
    'a..b',
    'a b',
    'a:b',
    '{x}',
    Array(17).fill('s').join('.'),
  ])('a TOPIC send to %j is BAD_USER_INPUT (no wildcards in a send target)', async (topic) => {
    const response = await graphql(service.baseUrl, SEND, { input: topicInput('alice', topic) });
    expectError(response, 'BAD_USER_INPUT', /input\.target/);
    await expectNoKeyWith(topic);
  });

  it('a DIRECT without target is BAD_USER_INPUT naming input.target', async () => {
    const response = await graphql(service.baseUrl, SEND, {
      input: { sender: 'alice', mode: 'DIRECT', content: 'x' },
    });
    expectError(response, 'BAD_USER_INPUT', /input\.target: is required for DIRECT/);
  });

  it('a BROADCAST with a target is BAD_USER_INPUT', async () => {
    const response = await graphql(service.baseUrl, SEND, {
      input: { sender: 'alice', mode: 'BROADCAST', target: 'alice', content: 'x' },
    });
    expectError(response, 'BAD_USER_INPUT', /input\.target: must be absent for BROADCAST/);
  });

  it.each([
    ['nobody', 'is not registered'],
    ['gone', 'is not registered or not active'],
  ])('a DIRECT to %j is NOT_FOUND and stores nothing', async (target, text) => {
    const before = (await keysUnder(redis, service.prefix)).filter((key) =>
      key.includes('message:'),
    );
    const response = await graphql(service.baseUrl, SEND, { input: directInput('alice', target) });
    expectError(response, 'NOT_FOUND', new RegExp(`input\\.target: mailbox "${target}" ${text}`));
    const after = (await keysUnder(redis, service.prefix)).filter((key) =>
      key.includes('message:'),
    );
    expect(after).toEqual(before);
    if (target === 'nobody') await expectNoKeyWith('nobody');
  });

  it('a bad enum in a variable is BAD_USER_INPUT', async () => {
    const response = await graphql(service.baseUrl, SEND, {
      input: { sender: 'alice', mode: 'SIDEWAYS', target: 'alice', content: 'x' },
    });
    expectError(response, 'BAD_USER_INPUT', /SIDEWAYS/);
  });

  it('a bad enum inline is BAD_USER_INPUT', async () => {
    const response = await graphql(
      service.baseUrl,
      'mutation { sendMessage(input: { sender: "alice", mode: SIDEWAYS, target: "alice", content: "x" }) { status } }',
    );
    expectError(response, 'BAD_USER_INPUT', /SIDEWAYS/);
  });

  it.each([
    [{ ttlSeconds: 0 }, /input\.ttlSeconds/],
    [{ ttlSeconds: -5 }, /input\.ttlSeconds/],
    [{ metadata: [1, 2] }, /input\.metadata: must be a JSON object/],
    [{ metadata: 'text' }, /input\.metadata/],
    [{ contentType: 'not a type' }, /input\.contentType/],
    [{ replyTo: 'a:b' }, /input\.replyTo/],
    [{ correlationId: '' }, /input\.correlationId/],
    [{ idempotencyKey: 'k'.repeat(300) }, /input\.idempotencyKey/],
    [{ priority: 'HUGE' }, /HUGE/],
  ])('%j is BAD_USER_INPUT naming the field', async (overrides, field) => {
    const response = await graphql(service.baseUrl, SEND, {
      input: directInput('alice', 'alice', overrides),
    });
    expectError(response, 'BAD_USER_INPUT', field);
  });

  it.each([
    [{ first: 0 }, /first: must be from 1 to 500/],
    [{ first: 501 }, /first: must be from 1 to 500/],
    [{ after: 'not-a-cursor' }, /after: .* is not a message id/],
    [{ after: '{x}' }, /after: /],
    // A ULID's alphabet, with a time past 48 bits.
    [{ after: '80000000000000000000000000' }, /after: .* its time part is past the largest/],
    [{ after: 'ZZZZZZZZZZZZZZZZZZZZZZZZZZ' }, /after: .* its time part is past the largest/],
  ])('paging with %j is BAD_USER_INPUT', async (args, message) => {
    const response = await graphql(service.baseUrl, MAILBOX_PAGE, { name: 'alice', ...args });
    expectError(response, 'BAD_USER_INPUT', message);
    const topic = await graphql(service.baseUrl, TOPIC_PAGE, { topic: 'a.b', ...args });
    expectError(topic, 'BAD_USER_INPUT', message);
  });

  it('message(id) with a malformed id is BAD_USER_INPUT, an unknown one is null', async () => {
    expectError(
      await graphql(service.baseUrl, '{ message(id: "x:y") { id } }'),
      'BAD_USER_INPUT',
      /^id: /,
    );
    const unknown = await graphql<{ message: null }>(
      service.baseUrl,
      '{ message(id: "01ARZ3NDEKTSV4RRFFQ69G5FAV") { id } }',
    );
    expect(unknown).toMatchObject({ data: { message: null } });
  });

  it("locates a resolver's error in the document, the first time and from the cache, over both transports", async () => {
    const query = '{\n  message(id: "x:y") { id }\n}';
    const expected = {
      message: expect.stringMatching(/^id: /) as unknown,
      locations: [{ line: 2, column: 3 }],
      path: ['message'],
      extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) as unknown,
    };
    for (let i = 0; i < 2; i++) {
      const response = await graphql(service.baseUrl, query);
      expect(response.errors).toEqual([expected]);
    }
    const overWs = await new Promise<{ errors?: readonly unknown[] }>((resolve, reject) => {
      ws.subscribe({ query }, { next: resolve, error: reject, complete: () => undefined });
    });
    expect(overWs.errors).toEqual([expected]);
  });

  it('sendMessages over 100 entries is BAD_USER_INPUT naming the limit', async () => {
    const inputs = Array.from({ length: 101 }, () => directInput('alice', 'alice'));
    const response = await graphql(service.baseUrl, SEND_MANY, { inputs });
    expectError(response, 'BAD_USER_INPUT', /inputs: 101 messages exceeds the limit of 100/);
  });

  it.each([
    [MAILBOX_FEED, { mailbox: 'a:b' }, /mailbox: /],
    [MAILBOX_FEED, { mailbox: 'nobody' }, /mailbox: mailbox "nobody" is not registered/],
    [MAILBOX_FEED, { mailbox: 'alice', after: 'zzz' }, /after: /],
    [TOPIC_FEED, { pattern: 'agents.a*' }, /pattern: /],
    [TOPIC_FEED, { pattern: '{x}' }, /pattern: /],
  ])(
    'subscription %# with bad arguments fails with a clear error over the WebSocket',
    async (query, variables, message) => {
      const subscription = new LiveSubscription(ws, query, variables, (data) => data);
      await subscription.waitForEnd();
      const error = subscription.errors[0] as { message: string; extensions?: { code?: string } };
      expect(error.message).toMatch(message);
      expect(['BAD_USER_INPUT', 'NOT_FOUND']).toContain(error.extensions?.code);
    },
  );

  it('stays healthy after all of it', async () => {
    expect((await fetch(`${service.baseUrl}/health/ready`)).status).toBe(200);
    await expectNoKeyWith('');
  });
});
