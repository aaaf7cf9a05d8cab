import { createClient, type Client } from 'graphql-ws';
import type { Cluster, Redis } from 'ioredis';
import WebSocket from 'ws';
import { AuthRepository } from '../../src/auth/auth.repository';
import { TOKEN_RECHECK_MS } from '../../src/graphql/graphql-ws.server';
import { directInput } from '../factories/messages';
import { connectWs, eventually, graphql, LiveSubscription } from '../utils/graphql-client';
import {
  MAILBOX_FEED,
  MAILBOX_PAGE,
  MESSAGE,
  REGISTER,
  SEND,
  SEND_MANY,
  TOPIC_PAGE,
  type RouteView,
} from '../utils/documents';
import {
  killSubscriberConnections,
  startRedisBackend,
  testTopology,
  type RedisBackend,
} from '../utils/redis-backend';
import { keysUnder } from '../utils/service';
import { startTestApp, startTestService, type TestApp } from '../utils/test-app';

const ADMIN = 'admin-token-for-tests-0123456789';

// One instance on standalone Redis; on Cluster and Sentinel two, HTTP on one and WebSockets on
// the other, so that a revocation made over HTTP must reach the sockets through Redis.
describe(`security: tokens and authorization (${testTopology()})`, () => {
  let backend: RedisBackend;
  let redis: Redis | Cluster;
  let service: TestApp;
  const tokens: Record<string, string> = {};

  const as = (token: string | null): Record<string, string> =>
    token ? { authorization: `Bearer ${token}` } : {};

  beforeAll(async () => {
    backend = await startRedisBackend();
    redis = backend.client();
    service = await startTestService(backend, {
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      RATE_LIMIT_PER_MINUTE: '100000',
      // Deadlines swept often: a timeout notice comes within half a second.
      ROUTER_RETRY_CHECK_INTERVAL: '0.5',
    });
    for (const name of ['alice', 'bob', 'carol', 'erin']) {
      const response = await graphql<{ registerMailbox: { token: string } }>(
        service.baseUrl,
        REGISTER,
        { name },
        as(ADMIN),
      );
      tokens[name] = response.data!.registerMailbox.token;
    }
  });

  afterAll(async () => {
    await service.close();
    await redis.quit();
    await backend.destroy();
  });

  const OPERATIONS: Array<[string, string, Record<string, unknown>]> = [
    ['mailbox', MAILBOX_PAGE, { name: 'alice' }],
    ['mailboxes', '{ mailboxes { name } }', {}],
    ['message', MESSAGE, { id: '01ARZ3NDEKTSV4RRFFQ69G5FAV' }],
    ['topicMessages', TOPIC_PAGE, { topic: 'a.b' }],
    [
      'deliveryStatus',
      '{ deliveryStatus(messageId: "01ARZ3NDEKTSV4RRFFQ69G5FAV") { status } }',
      {},
    ],
    ['deadLetters', '{ deadLetters { mailbox } }', {}],
    ['routerStatistics', '{ routerStatistics { running } }', {}],
    ['registerMailbox', REGISTER, { name: 'mallory' }],
    ['deactivateMailbox', 'mutation { deactivateMailbox(name: "alice") { name } }', {}],
    ['sendMessage', SEND, { input: directInput('alice', 'bob') }],
    ['sendMessages', SEND_MANY, { inputs: [directInput('alice', 'bob')] }],
    [
      'confirmDelivery',
      'mutation { confirmDelivery(mailbox: "alice", messageId: "01ARZ3NDEKTSV4RRFFQ69G5FAV") { status } }',
      {},
    ],
    [
      'redriveDeadLetter',
      'mutation { redriveDeadLetter(mailbox: "alice", messageId: "01ARZ3NDEKTSV4RRFFQ69G5FAV") { status } }',
      {},
    ],
    ['rotateMailboxToken', 'mutation { rotateMailboxToken(name: "alice") { token } }', {}],
    ['revokeMailboxToken', 'mutation { revokeMailboxToken(name: "alice") { name } }', {}],
  ];

  it.each(OPERATIONS)('%s without a token is UNAUTHENTICATED', async (_name, query, variables) => {
    const response = await graphql(service.baseUrl, query, variables);
    expect(response.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    // Nothing is answered: data is null, or null in the field (GraphQL's way for a nullable one).
    expect(Object.values(response.data ?? {}).every((value) => value === null)).toBe(true);
  });

  it.each(OPERATIONS)(
    '%s with a made-up token is UNAUTHENTICATED',
    async (_name, query, variables) => {
      const forged = `mbx_${Buffer.from('alice').toString('base64url')}.not-the-secret`;
      const response = await graphql(service.baseUrl, query, variables, as(forged));
      expect(response.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    },
  );

  it('leaves the health probes open and closes /metrics to all but the admin', async () => {
    expect((await fetch(`${service.baseUrl}/health/live`)).status).toBe(200);
    expect((await fetch(`${service.baseUrl}/health/ready`)).status).toBe(200);
    expect((await fetch(`${service.baseUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${service.baseUrl}/metrics`, { headers: as(tokens.alice) })).status).toBe(
      403,
    );
    expect((await fetch(`${service.baseUrl}/metrics`, { headers: as(ADMIN) })).status).toBe(200);
  });

  it("shows the readiness probe's details to the admin alone: anyone else sees each indicator's status", async () => {
    const ready = async (token: string | null): Promise<Record<string, unknown>> => {
      const response = await fetch(`${service.baseUrl}/health/ready`, { headers: as(token) });
      expect(response.status).toBe(200);
      return ((await response.json()) as { info: Record<string, unknown> }).info;
    };
    const statuses = {
      lifecycle: { status: 'up' },
      redis: { status: 'up' },
      circuit: { status: 'up' },
      pubsub: { status: 'up' },
      jobs: { status: 'up' },
    };
    expect(await ready(null)).toEqual(statuses);
    expect(await ready(tokens.alice)).toEqual(statuses);
    expect(await ready('not-a-token')).toEqual(statuses);
    // The Redis mode, and the nodes serving: each primary of a Cluster, else the one connected.
    const primaries = backend.topology === 'cluster' ? 3 : 1;
    expect(await ready(ADMIN)).toMatchObject({
      redis: {
        status: 'up',
        mode: backend.topology,
        nodes: Array.from({ length: primaries }, () => expect.stringMatching(/:\d+$/) as unknown),
      },
      circuit: { status: 'up', state: 'closed' },
    });
  });

  it.each([
    ["reading bob's mailbox", MAILBOX_PAGE, { name: 'bob' }],
    ['sending as bob', SEND, { input: directInput('bob', 'carol') }],
    [
      'confirming for bob',
      'mutation { confirmDelivery(mailbox: "bob", messageId: "01ARZ3NDEKTSV4RRFFQ69G5FAV") { status } }',
      {},
    ],
    ["reading bob's dead letters", '{ deadLetters(mailbox: "bob") { mailbox } }', {}],
    ["rotating bob's token", 'mutation { rotateMailboxToken(name: "bob") { token } }', {}],
    ['listing every mailbox', '{ mailboxes { name } }', {}],
    ['registering a mailbox', REGISTER, { name: 'eve' }],
    ['reading statistics', '{ routerStatistics { running } }', {}],
  ])("%s with alice's token is FORBIDDEN", async (_what, query, variables) => {
    const response = await graphql(service.baseUrl, query, variables, as(tokens.alice));
    expect(response.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('lets alice do what is hers, and not read a message between others', async () => {
    const own = await graphql<{ sendMessage: RouteView }>(
      service.baseUrl,
      SEND,
      { input: directInput('alice', 'bob') },
      as(tokens.alice),
    );
    expect(own.data?.sendMessage.status).toBe('QUEUED');
    expect(
      (await graphql(service.baseUrl, MAILBOX_PAGE, { name: 'alice' }, as(tokens.alice))).errors,
    ).toBeUndefined();
    expect(
      (
        await graphql(
          service.baseUrl,
          MESSAGE,
          { id: own.data!.sendMessage.messageId },
          as(tokens.bob),
        )
      ).errors,
    ).toBeUndefined();
    const peek = await graphql(
      service.baseUrl,
      MESSAGE,
      { id: own.data!.sendMessage.messageId },
      as(tokens.carol),
    );
    expect(peek.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const batch = await graphql<{ sendMessages: RouteView[] }>(
      service.baseUrl,
      SEND_MANY,
      { inputs: [directInput('alice', 'carol'), directInput('bob', 'carol')] },
      as(tokens.alice),
    );
    expect(batch.data?.sendMessages[0].status).toBe('QUEUED');
    expect(batch.data?.sendMessages[1]).toMatchObject({ status: 'FAILED', errorCode: 'FORBIDDEN' });
    expect(batch.data?.sendMessages[1].error).toMatch(/^inputs\[1\]\.sender: /);
  });

  it('closes a WebSocket with no token or a bad one before any event flows', async () => {
    for (const params of [
      {},
      { authorization: 'Bearer nonsense' },
      { authorization: tokens.alice },
    ]) {
      await expect(connectWs(service.wsUrl, params)).rejects.toThrow(/4403|closed/);
    }
  });

  it("refuses a WebSocket from another site's page, not the service's own or an allowed host's", async () => {
    /** The HTTP status the upgrade got (101: the socket opened), with `host` as the Host header. */
    const upgrade = (app: TestApp, origin: string | undefined, host?: string): Promise<number> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(app.wsUrl, 'graphql-transport-ws', {
          headers: { ...(origin === undefined ? {} : { origin }), ...(host ? { host } : {}) },
        });
        socket.once('open', () => {
          socket.terminate();
          resolve(101);
        });
        socket.once('unexpected-response', (_request, response) => {
          socket.terminate();
          resolve(response.statusCode ?? 0);
        });
        socket.once('error', reject);
      });
    const port = new URL(service.baseUrl).port;
    // Served under a name MCP_ALLOWED_ORIGINS does not list, say behind a proxy.
    const served = `mailbox.test:${port}`;
    expect(await upgrade(service, 'http://evil.example')).toBe(403);
    expect(await upgrade(service, 'http://localhost.evil.example:3000')).toBe(403);
    expect(await upgrade(service, new URL(service.baseUrl).origin)).toBe(101);
    expect(await upgrade(service, `http://${served}`, served)).toBe(101);
    expect(await upgrade(service, 'http://localhost:5173')).toBe(101);
    expect(await upgrade(service, undefined)).toBe(101);
    // With authentication off a socket needs no token: an Origin equal to the Host is what a
    // page rebound to this address sends, so only the listed hosts' pages may open one.
    const open = await startTestApp(backend, { AUTH_ENABLED: 'false' });
    try {
      const rebound = `rebind.example:${new URL(open.baseUrl).port}`;
      expect(await upgrade(open, `http://${rebound}`, rebound)).toBe(403);
      expect(await upgrade(open, new URL(open.baseUrl).origin)).toBe(101);
      expect(await upgrade(open, undefined)).toBe(101);
    } finally {
      await open.close();
    }
  });

  it('refuses a subscription to another mailbox over the WebSocket', async () => {
    const ws = await connectWs(service.wsUrl, { authorization: `Bearer ${tokens.alice}` });
    const theirs = new LiveSubscription(ws, MAILBOX_FEED, { mailbox: 'bob' }, (data) => data);
    await theirs.waitForEnd();
    expect(theirs.errors[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    await ws.dispose();
  });

  it('keeps no token in clear anywhere in Redis', async () => {
    const dump: string[] = [];
    for (const key of await keysUnder(redis, '')) {
      dump.push(key);
      const type = await redis.type(key);
      if (type === 'string') dump.push((await redis.get(key)) ?? '');
      if (type === 'hash') dump.push(...Object.entries(await redis.hgetall(key)).flat());
      if (type === 'zset') dump.push(...(await redis.zrange(key, '0', '-1')));
      if (type === 'set') dump.push(...(await redis.smembers(key)));
    }
    const text = dump.join('\n');
    expect(dump.length).toBeGreaterThan(10);
    for (const token of [ADMIN, ...Object.values(tokens)]) {
      expect(text.includes(token)).toBe(false);
      // Not even the secret half of a mailbox token.
      expect(text.includes(token.split('.').at(-1) as string)).toBe(false);
    }
  });

  /**
   * A feed of `mailbox` over a WebSocket of its own opened with `token`, once the service
   * counts the mailbox online; `closeCode` is the socket's close code (0 while it is open).
   */
  async function onlineFeed(
    token: string,
    mailbox: string,
  ): Promise<{ ws: Client; feed: LiveSubscription<unknown>; closeCode: () => number }> {
    const ws = createClient({
      url: service.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
      onNonLazyError: () => undefined,
    });
    let code = 0;
    ws.on('closed', (event) => {
      code = (event as { code: number }).code;
    });
    const feed = new LiveSubscription(ws, MAILBOX_FEED, { mailbox }, (data) => data);
    await eventually(async () => {
      const { data } = await graphql<{ mailbox: { online: boolean } }>(
        service.baseUrl,
        `{ mailbox(name: "${mailbox}") { online } }`,
        {},
        as(ADMIN),
      );
      return data?.mailbox.online === true;
    });
    return { ws, feed, closeCode: () => code };
  }

  it('makes a revoked token fail at once over HTTP and ends its open subscription', async () => {
    const token = tokens.carol;
    const { ws, feed, closeCode } = await onlineFeed(token, 'carol');

    const revoked = await graphql(
      service.baseUrl,
      'mutation { revokeMailboxToken(name: "carol") { name } }',
      {},
      as(token),
    );
    expect(revoked.errors).toBeUndefined();
    const after = await graphql(service.baseUrl, MAILBOX_PAGE, { name: 'carol' }, as(token));
    expect(after.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    await feed.waitForEnd();
    await eventually(() => closeCode() === 4403);

    const rotated = await graphql<{ rotateMailboxToken: { token: string } }>(
      service.baseUrl,
      'mutation { rotateMailboxToken(name: "carol") { token } }',
      {},
      as(ADMIN),
    );
    const fresh = rotated.data!.rotateMailboxToken.token;
    expect(
      (await graphql(service.baseUrl, MAILBOX_PAGE, { name: 'carol' }, as(fresh))).errors,
    ).toBeUndefined();
    // Rotating again retires the fresh one too.
    await graphql(
      service.baseUrl,
      'mutation { rotateMailboxToken(name: "carol") { token } }',
      {},
      as(fresh),
    );
    expect(
      (await graphql(service.baseUrl, MAILBOX_PAGE, { name: 'carol' }, as(fresh))).errors?.[0]
        .extensions?.code,
    ).toBe('UNAUTHENTICATED');
    await ws.dispose();
  });

  it('ends the subscription of a token revoked while its revocation could not be heard', async () => {
    const registered = await graphql<{ registerMailbox: { token: string } }>(
      service.baseUrl,
      'mutation { registerMailbox(name: "frank") { token } }',
      {},
      as(ADMIN),
    );
    const token = registered.data!.registerMailbox.token;
    const { ws, feed, closeCode } = await onlineFeed(token, 'frank');

    // The service's subscriber connections drop (on every node); the revocation is published
    // meanwhile, to nobody (the client reconnects after 100 ms at first).
    expect(await killSubscriberConnections(backend)).toBeGreaterThan(0);
    const revoked = await graphql(
      service.baseUrl,
      'mutation { revokeMailboxToken(name: "frank") { name } }',
      {},
      as(ADMIN),
    );
    expect(revoked.errors).toBeUndefined();
    await feed.waitForEnd();
    await eventually(() => closeCode() === 4403, 10_000);
    await ws.dispose();
  });

  it('hands over a rotated token whose revocation could not be announced, refuses the old one, and closes its sockets', async () => {
    const registered = await graphql<{ registerMailbox: { token: string } }>(
      service.baseUrl,
      'mutation { registerMailbox(name: "grace") { token } }',
      {},
      as(ADMIN),
    );
    const old = registered.data!.registerMailbox.token;
    const { ws, feed, closeCode } = await onlineFeed(old, 'grace');
    // On the instance that answers the rotation over HTTP.
    const announce = jest
      .spyOn(service.httpApp.get(AuthRepository), 'announceRevocation')
      .mockRejectedValueOnce(new Error('Connection is closed.'));
    try {
      const rotated = await graphql<{ rotateMailboxToken: { token: string } }>(
        service.baseUrl,
        'mutation { rotateMailboxToken(name: "grace") { token } }',
        {},
        as(old),
      );
      expect(rotated.errors).toBeUndefined();
      expect(announce).toHaveBeenCalledTimes(1);
      const fresh = rotated.data!.rotateMailboxToken.token;
      const page = async (token: string) =>
        graphql(service.baseUrl, MAILBOX_PAGE, { name: 'grace' }, as(token));
      expect((await page(fresh)).errors).toBeUndefined();
      expect((await page(old)).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      // No announcement came: the periodic check of open sockets' tokens closes it.
      await feed.waitForEnd(TOKEN_RECHECK_MS + 5_000);
      await eventually(() => closeCode() === 4403, 5_000);
    } finally {
      announce.mockRestore();
      await ws.dispose();
    }
  }, 30_000);

  it('gives a mailbox registered again under a deleted name nothing the old one sent or was sent', async () => {
    const register = async (): Promise<string | null> => {
      const { data } = await graphql<{ registerMailbox: { token: string } }>(
        service.baseUrl,
        REGISTER,
        { name: 'heir' },
        as(ADMIN),
      );
      return data?.registerMailbox.token ?? null;
    };
    const first = (await register())!;
    const send = async (token: string, input: Record<string, unknown>): Promise<string> => {
      const { data } = await graphql<{ sendMessage: RouteView }>(
        service.baseUrl,
        SEND,
        { input },
        as(token),
      );
      return data!.sendMessage.messageId;
    };
    const sent = await send(first, {
      mode: 'DIRECT',
      target: 'alice',
      threadId: 'inheritance',
      content: 'the old heir writes',
      requireConfirmation: true,
    });
    const received = await send(tokens.alice, {
      mode: 'DIRECT',
      target: 'heir',
      threadId: 'inheritance',
      content: 'to the old heir',
    });
    const asked = Date.now();
    await send(first, {
      mode: 'DIRECT',
      target: 'alice',
      content: 'the old heir asks',
      replyWithinSeconds: 6,
    });
    // Past the margin for instances' clocks (5 s), then deleted and registered again.
    await new Promise((resolve) => setTimeout(resolve, 5_100));
    await graphql(service.baseUrl, 'mutation { deleteMailbox(name: "heir") }', {}, as(ADMIN));
    let second: string | null = null;
    await eventually(async () => (second = await register()) !== null, 15_000);
    const read = (token: string, id: string) =>
      graphql(service.baseUrl, MESSAGE, { id }, as(token));
    // What it sent is still alice's, not the new heir's; what it was sent went with it.
    expect((await read(second!, sent)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await read(tokens.alice, sent)).errors).toBeUndefined();
    expect((await read(second!, received)).data).toEqual({ message: null });
    // Nor does it see the old one's deliveries, as their sender.
    const statuses = async (token: string) =>
      (
        await graphql<{ deliveryStatus: Array<{ mailbox: string }> }>(
          service.baseUrl,
          'query S($id: ID!) { deliveryStatus(messageId: $id) { mailbox } }',
          { id: sent },
          as(token),
        )
      ).data!.deliveryStatus.map((status) => status.mailbox);
    expect(await statuses(second!)).toEqual([]);
    expect(await statuses(tokens.alice)).toEqual(['alice']);
    const thread = async (token: string) =>
      (
        await graphql<{ thread: { nodes: Array<{ id: string }> } }>(
          service.baseUrl,
          '{ thread(id: "inheritance") { nodes { id } } }',
          {},
          as(token),
        )
      ).data!.thread.nodes.map((node) => node.id);
    expect(await thread(second!)).toEqual([]);
    // Its own, from its registration on, are its own.
    const own = await send(second!, {
      mode: 'DIRECT',
      target: 'alice',
      threadId: 'inheritance',
      content: 'the new heir writes',
    });
    expect((await read(second!, own)).errors).toBeUndefined();
    expect(await thread(second!)).toEqual([own]);
    expect(await thread(tokens.alice)).toEqual([sent, own]);

    // A reply to the old heir does not reach the new one; nor does the old one's timeout notice.
    const reply = await graphql(
      service.baseUrl,
      SEND,
      { input: { mode: 'DIRECT', inReplyTo: sent, content: 'for the old heir only' } },
      as(tokens.alice),
    );
    expect(reply.errors?.[0].extensions).toMatchObject({
      code: 'NOT_FOUND',
      field: 'input.target',
    });
    const pastDeadline = asked + 6_000 + 2_000 - Date.now();
    if (pastDeadline > 0) await new Promise((resolve) => setTimeout(resolve, pastDeadline));
    const inbox = await graphql<{ mailbox: { messages: { nodes: unknown[] } } }>(
      service.baseUrl,
      '{ mailbox(name: "heir") { messages { nodes { id subject } } } }',
      {},
      as(second),
    );
    expect(inbox.data?.mailbox.messages.nodes).toEqual([]);
  }, 40_000);

  it('revokes the old token of a mailbox deactivated and registered again, and ends its subscription', async () => {
    const old = tokens.erin;
    const { ws, feed } = await onlineFeed(old, 'erin');
    const admin = (query: string) => graphql(service.baseUrl, query, {}, as(ADMIN));
    expect(
      (await admin('mutation { deactivateMailbox(name: "erin") { name } }')).errors,
    ).toBeUndefined();
    // The name goes to another agent, with a new token: the old one's feed must not follow it.
    const again = await admin('mutation { registerMailbox(name: "erin") { token } }');
    expect(again.errors).toBeUndefined();
    await feed.waitForEnd();
    expect(
      (await graphql(service.baseUrl, MAILBOX_PAGE, { name: 'erin' }, as(old))).errors?.[0]
        .extensions?.code,
    ).toBe('UNAUTHENTICATED');
    await ws.dispose();
  });
});
