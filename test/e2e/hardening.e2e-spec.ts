import { directInput } from '../factories/messages';
import { connectWs, graphql, LiveSubscription } from '../utils/graphql-client';
import { REGISTER, SEND, SEND_MANY, type RouteView } from '../utils/documents';
import { RedisServer } from '../utils/redis-server';
import { ServiceProcess } from '../utils/service-process';
import { startTestApp, uniquePrefix, type TestApp } from '../utils/test-app';

const ADMIN = 'admin-token-for-tests-0123456789';
const auth = { authorization: `Bearer ${ADMIN}` };
const aliases = (count: number): string =>
  `{ ${Array.from({ length: count }, (_, i) => `a${i}: topicMessages(topic: "t") { pageInfo { hasNextPage } }`).join(' ')} }`;

async function healthy(baseUrl: string): Promise<void> {
  const response = await fetch(`${baseUrl}/health/ready`);
  if (response.status !== 200) console.log(await response.text());
  expect(response.status).toBe(200);
}

describe('a hardened GraphQL surface', () => {
  let redisServer: RedisServer;
  let development: TestApp;
  let production: TestApp;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    development = await startTestApp(redisServer.url, { AUTH_ENABLED: 'true', ADMIN_TOKEN: ADMIN });
    production = await startTestApp(redisServer.url, {
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      NODE_ENV: 'production',
    });
  });

  afterAll(async () => {
    await development.close();
    await production.close();
    await redisServer.destroy();
  });

  it('refuses a query with 500 aliases over HTTP and over the WebSocket, and stays healthy', async () => {
    const response = await graphql(development.baseUrl, aliases(500), {}, auth);
    expect(response.errors?.[0]).toMatchObject({
      extensions: { code: 'BAD_USER_INPUT', limit: 30 },
    });
    expect(response.errors?.[0].message).toMatch(
      /^query: the number of aliases is (at least )?\d+; the limit is 30$/,
    );
    expect((await graphql(development.baseUrl, aliases(30), {}, auth)).errors).toBeUndefined();

    const ws = await connectWs(development.wsUrl, auth);
    const deep = new LiveSubscription(
      ws,
      `subscription { ${Array.from({ length: 100 }, (_, i) => `a${i}: topicMessages(pattern: "#") { id }`).join(' ')} }`,
      {},
      (data) => data,
    );
    await deep.waitForEnd();
    expect(
      deep.errors.some((error) => /aliases/.test((error as { message: string }).message)),
    ).toBe(true);
    await ws.dispose();
    await healthy(development.baseUrl);
  });

  it('refuses deep documents', async () => {
    const ofType = (depth: number): string =>
      depth === 0 ? 'name' : `ofType { ${ofType(depth - 1)} }`;
    const query = (depth: number): string =>
      `{ __schema { types { fields { type { ${ofType(depth)} } } } } }`;
    expect((await graphql(development.baseUrl, query(6), {}, auth)).errors).toBeUndefined();
    const response = await graphql(development.baseUrl, query(12), {}, auth);
    expect(response.errors?.[0]).toMatchObject({
      message: 'query: the selection depth is 17; the limit is 12',
      extensions: { code: 'BAD_USER_INPUT', limit: 12 },
    });
  });

  it('refuses a batch of 100 operations in one request', async () => {
    const batch = Array.from({ length: 100 }, () => ({
      query: '{ routerStatistics { running } }',
    }));
    const response = await fetch(`${development.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify(batch),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/batch/i);
    await healthy(development.baseUrl);
  });

  it('names no framework and sends no ETag in its answers', async () => {
    const response = await fetch(`${production.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ query: '{ routerStatistics { running } }' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { routerStatistics: { running: true } } });
    expect(response.headers.get('x-powered-by')).toBeNull();
    expect(response.headers.get('etag')).toBeNull();
  });

  it('refuses a cross-site simple request (CSRF prevention)', async () => {
    const response = await fetch(
      `${development.baseUrl}/graphql?query=${encodeURIComponent('{ routerStatistics { running } }')}`,
      {
        headers: auth,
      },
    );
    expect(response.status).toBe(400);
  });

  it('turns introspection and field suggestions off in production, over HTTP and WebSocket', async () => {
    const introspection = await graphql(
      production.baseUrl,
      '{ __schema { types { name } } }',
      {},
      auth,
    );
    expect(introspection.errors?.[0].message).toMatch(/introspection/i);
    expect(introspection.data ?? null).toBeNull();
    const typo = await graphql(production.baseUrl, '{ mailboxs { name } }', {}, auth);
    expect(typo.errors?.[0].message).not.toMatch(/did you mean/i);
    const devTypo = await graphql(development.baseUrl, '{ mailboxs { name } }', {}, auth);
    expect(devTypo.errors?.[0].message).toMatch(/did you mean/i);

    const ws = await connectWs(production.wsUrl, auth);
    const probe = new LiveSubscription(
      ws,
      'subscription { __schema { types { name } } }',
      {},
      (data) => data,
    );
    await probe.waitForEnd();
    expect(probe.values).toEqual([]);
    expect(probe.errors.length).toBeGreaterThan(0);
    await ws.dispose();
    await healthy(production.baseUrl);
  });

  it('refuses to start in production without ADMIN_TOKEN, saying so in one line', async () => {
    const start = ServiceProcess.start({
      REDIS_URL: redisServer.url,
      AUTH_ENABLED: 'true',
      NODE_ENV: 'production',
    });
    await expect(start).rejects.toThrow(
      /^service exited with 1: Invalid configuration: ADMIN_TOKEN is not set: it is required when NODE_ENV=production and AUTH_ENABLED=true\n$/,
    );
  });
});

describe('rate limits shared by two service processes', () => {
  let redisServer: RedisServer;
  let a: ServiceProcess;
  let b: ServiceProcess;
  const LIMIT = 30;
  const prefix = uniquePrefix();

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    const environment = {
      REDIS_URL: redisServer.url,
      REDIS_KEY_PREFIX: prefix,
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      RATE_LIMIT_PER_MINUTE: String(LIMIT),
    };
    a = await ServiceProcess.start(environment);
    b = await ServiceProcess.start(environment);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redisServer.destroy();
  });

  it('counts one bucket per token across both, answers RATE_LIMITED with a retry hint, and spares the admin', async () => {
    const registered = await graphql<{ registerMailbox: { token: string } }>(
      a.baseUrl,
      REGISTER,
      { name: 'chatty' },
      auth,
    );
    const token = registered.data!.registerMailbox.token;
    await graphql(a.baseUrl, REGISTER, { name: 'quiet' }, auth);
    let allowed = 0;
    const refusals: Array<{ message: string; extensions?: Record<string, unknown> }> = [];
    for (let i = 0; i < 25; i += 1) {
      for (const service of [a, b]) {
        const response = await graphql<{ sendMessage: RouteView }>(
          service.baseUrl,
          SEND,
          { input: directInput('chatty', 'quiet') },
          { authorization: `Bearer ${token}` },
        );
        if (response.data?.sendMessage) allowed += 1;
        else refusals.push(response.errors![0]);
      }
    }
    // 30 a minute refills one every 2 s: the run takes a few seconds at most.
    expect(allowed).toBeGreaterThanOrEqual(LIMIT);
    expect(allowed).toBeLessThanOrEqual(LIMIT + 5);
    expect(refusals.length).toBe(50 - allowed);
    expect(refusals[0].extensions).toMatchObject({ code: 'RATE_LIMITED', limit: LIMIT });
    expect(refusals[0].extensions?.retryAfterSeconds).toEqual(expect.any(Number));
    expect(refusals[0].message).toMatch(/retry after \d+ s/);

    for (let i = 0; i < 40; i += 1) {
      const response = await graphql(
        b.baseUrl,
        SEND,
        { input: directInput('quiet', 'chatty') },
        auth,
      );
      expect(response.errors).toBeUndefined();
    }
  });

  it('refuses only the owner of a bucket Redis cannot use, whatever shares its call', async () => {
    const tokens: Record<string, string> = {};
    for (const name of ['broken', 'sound']) {
      const registered = await graphql<{ registerMailbox: { token: string } }>(
        a.baseUrl,
        REGISTER,
        { name },
        auth,
      );
      tokens[name] = registered.data!.registerMailbox.token;
    }
    // The bucket's key holds a string: the script fails on it, with every check in its call.
    const redis = redisServer.client();
    await redis.set(`${prefix}ratelimit:{broken}`, 'not a bucket');
    await redis.quit();
    const read = (name: string) =>
      graphql(
        a.baseUrl,
        '{ mailbox(name: "' + name + '") { name } }',
        {},
        {
          authorization: `Bearer ${tokens[name]}`,
        },
      );
    // Requests at once, so that checks of both mailboxes meet in shared calls.
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => read(i % 4 === 0 ? 'broken' : 'sound')),
    );
    answers.forEach((answer, i) => {
      if (i % 4 === 0) {
        expect(answer.errors?.[0].extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
        expect(answer.errors?.[0].message).toMatch(/^the rate limit cannot be checked \(WRONGTYPE/);
      } else {
        expect(answer.errors).toBeUndefined();
      }
    });
  });

  it("keeps a token's bucket at least a minute past its last use, and not for ever", async () => {
    const registered = await graphql<{ registerMailbox: { token: string } }>(
      a.baseUrl,
      REGISTER,
      { name: 'kept' },
      auth,
    );
    const answer = await graphql(
      a.baseUrl,
      '{ mailbox(name: "kept") { name } }',
      {},
      { authorization: `Bearer ${registered.data!.registerMailbox.token}` },
    );
    expect(answer.errors).toBeUndefined();
    const redis = redisServer.client();
    const left = await redis.pttl(`${prefix}ratelimit:{kept}`);
    await redis.quit();
    expect(left).toBeGreaterThan(60_000);
    expect(left).toBeLessThanOrEqual(120_000);
  });

  it('charges nothing for a forged token, an operation the token may not run, or an oversized batch', async () => {
    const registered = await graphql<{ registerMailbox: { token: string } }>(
      a.baseUrl,
      REGISTER,
      { name: 'targeted' },
      auth,
    );
    const token = registered.data!.registerMailbox.token;
    await graphql(a.baseUrl, REGISTER, { name: 'listener' }, auth);
    // The mailbox's name with another secret: what anyone who knows the name can send.
    const forged = `${token.slice(0, token.indexOf('.'))}.${'x'.repeat(43)}`;
    const as = (bearer: string) => ({ authorization: `Bearer ${bearer}` });
    for (let i = 0; i < LIMIT; i += 1) {
      const service = i % 2 === 0 ? a : b;
      const send = await graphql(
        service.baseUrl,
        SEND,
        { input: directInput('targeted', 'listener') },
        as(forged),
      );
      expect(send.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      const adminOnly = await graphql(
        service.baseUrl,
        '{ routerStatistics { running } }',
        {},
        {
          ...as(token),
        },
      );
      expect(adminOnly.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    // A batch no limit could ever let through is refused for its size, not its cost.
    const oversized = await graphql(
      a.baseUrl,
      SEND_MANY,
      { inputs: Array.from({ length: 6_001 }, () => directInput('targeted', 'listener')) },
      as(token),
    );
    expect(oversized.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'inputs',
      limit: 100,
    });
    // The bucket is still full: the owner's LIMIT sends all pass.
    for (let i = 0; i < LIMIT; i += 1) {
      const response = await graphql<{ sendMessage: RouteView }>(
        (i % 2 === 0 ? a : b).baseUrl,
        SEND,
        { input: directInput('targeted', 'listener') },
        as(token),
      );
      expect(response.errors).toBeUndefined();
      expect(response.data?.sendMessage.messageId).toEqual(expect.any(String));
    }
  });
});
