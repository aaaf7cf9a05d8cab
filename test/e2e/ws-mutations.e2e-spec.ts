import { createClient, type Client } from 'graphql-ws';
import type { Redis } from 'ioredis';
import WebSocket from 'ws';
import { directInput, type SendInput } from '../factories/messages';
import {
  connectWs,
  eventually,
  graphql,
  LiveSubscription,
  type GraphqlError,
  type GraphqlResponse,
} from '../utils/graphql-client';
import {
  MAILBOX_FEED,
  MAILBOX_PAGE,
  MESSAGE,
  SEND,
  SEND_MANY,
  type MessageView,
  type PageView,
  type RouteView,
} from '../utils/documents';
import { RedisServer } from '../utils/redis-server';
import {
  mailboxChannel,
  registerMailboxes,
  registerMailboxesAs,
  waitForListeners,
} from '../utils/service';
import { IN_FLIGHT_WAIT_MS } from '../../src/graphql/graphql-ws.server';
import { MessageRouterService } from '../../src/routing/message-router.service';
import { startTestApp, type TestApp } from '../utils/test-app';

const ADMIN = 'admin-token-for-tests-0123456789';
/** Low enough that a batch can be over it, high enough for the other tests' sends. */
const RATE_LIMIT = 40;
/** Low, so that a socket at the cap is quick to reach. */
const SUBSCRIPTIONS_PER_SOCKET = 2;

/** What one operation over graphql-ws was answered with. */
interface WsAnswer<T> {
  data?: T | null;
  errors?: GraphqlError[];
  /** How many `next` messages came before the end: one for a query or a mutation. */
  nexts: number;
  /** `complete` after the result, or `error` (the operation refused before it ran). */
  end: 'complete' | 'error';
}

/**
 * Runs one operation over the client's WebSocket and waits for its end: graphql-ws answers a
 * mutation with one `next` and then `complete`, and a refused operation with `error`.
 */
function overWs<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<WsAnswer<T>> {
  return new Promise((resolve, reject) => {
    const answer: WsAnswer<T> = { nexts: 0, end: 'complete' };
    client.subscribe<T>(
      { query, variables },
      {
        next: (result) => {
          answer.nexts += 1;
          answer.data = result.data;
          answer.errors = result.errors as GraphqlError[] | undefined;
        },
        error: (error) => {
          // A list of GraphQL errors (an `error` message), or the socket's close event.
          if (!Array.isArray(error)) {
            reject(new Error(`the socket ended: ${JSON.stringify(error)}`));
            return;
          }
          resolve({ ...answer, errors: error as GraphqlError[], end: 'error' });
        },
        complete: () => resolve(answer),
      },
    );
  });
}

/** The data of a WebSocket answer that must be one result without errors. */
function ok<T>(answer: WsAnswer<T>): T {
  if (answer.errors?.length || !answer.data)
    throw new Error(`GraphQL errors: ${JSON.stringify(answer.errors)}`);
  expect(answer).toMatchObject({ nexts: 1, end: 'complete' });
  return answer.data;
}

/** The first error's code and message, however it was answered. */
function refusal(answer: { errors?: GraphqlError[] }): { code: unknown; message: string } {
  const [first] = answer.errors ?? [];
  return { code: first?.extensions?.code, message: first?.message ?? '(no error)' };
}

describe('sendMessage and sendMessages over the graphql-ws WebSocket', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let service: TestApp;
  const tokens: Record<string, string> = {};
  const sockets: Client[] = [];

  const as = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

  /** A WebSocket acknowledged with `token`, disposed after the suite. */
  async function socketOf(token: string): Promise<Client> {
    const client = await connectWs(service.wsUrl, { authorization: `Bearer ${token}` });
    sockets.push(client);
    return client;
  }

  /** A message as its recipient reads it over HTTP with its own token. */
  async function readAs(mailbox: string, id: string): Promise<MessageView> {
    const response = await graphql<{ message: MessageView }>(
      service.baseUrl,
      MESSAGE,
      { id },
      as(tokens[mailbox]),
    );
    expect(response.errors).toBeUndefined();
    return response.data!.message;
  }

  async function idsInMailbox(mailbox: string): Promise<string[]> {
    const response = await graphql<{ mailbox: { messages: PageView } }>(
      service.baseUrl,
      MAILBOX_PAGE,
      { name: mailbox, first: 100 },
      as(tokens[mailbox]),
    );
    expect(response.errors).toBeUndefined();
    return response.data!.mailbox.messages.nodes.map((message) => message.id);
  }

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    service = await startTestApp(redisServer.url, {
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
      SUBSCRIPTIONS_PER_SOCKET: String(SUBSCRIPTIONS_PER_SOCKET),
    });
    Object.assign(
      tokens,
      await registerMailboxesAs(service.baseUrl, ADMIN, 'alice', 'bob', 'carol', 'dave', 'erin'),
    );
  });

  afterAll(async () => {
    for (const client of sockets) await client.dispose();
    await service.close();
    await redis.quit();
    await redisServer.destroy();
  });

  it("sends as the token's mailbox: one result, then complete; the recipient reads it", async () => {
    const alice = await socketOf(tokens.alice);
    const answer = await overWs<{ sendMessage: RouteView }>(alice, SEND, {
      input: { mode: 'DIRECT', target: 'bob', content: 'sent over the socket' },
    });
    const { sendMessage } = ok(answer);
    expect(sendMessage).toMatchObject({ status: 'QUEUED', recipients: 1, error: null });

    const stored = await readAs('bob', sendMessage.messageId);
    expect(stored).toMatchObject({
      sender: 'alice',
      mode: 'DIRECT',
      target: 'bob',
      content: 'sent over the socket',
    });
    expect(await idsInMailbox('bob')).toContain(sendMessage.messageId);
  });

  it("reaches the recipient's live subscription", async () => {
    const bob = await socketOf(tokens.bob);
    const feed = new LiveSubscription<MessageView>(
      bob,
      MAILBOX_FEED,
      { mailbox: 'bob' },
      (data) => data.mailboxMessages as MessageView,
    );
    await waitForListeners(service, mailboxChannel(service, 'bob'), 1);
    const carol = await socketOf(tokens.carol);
    const { sendMessage } = ok(
      await overWs<{ sendMessage: RouteView }>(carol, SEND, {
        input: { mode: 'DIRECT', target: 'bob', content: 'live over the socket' },
      }),
    );
    const [received] = await feed.waitFor(1);
    expect(received).toMatchObject({
      id: sendMessage.messageId,
      sender: 'carol',
      content: 'live over the socket',
    });
    feed.unsubscribe();
  });

  it('routes a sendMessages batch in input order, each entry failing alone', async () => {
    const alice = await socketOf(tokens.alice);
    const inputs: Array<Omit<SendInput, 'sender'>> = [
      { mode: 'DIRECT', target: 'bob', content: 'batch 0' },
      { mode: 'DIRECT', target: 'carol', content: 'batch 1' },
      { mode: 'DIRECT', target: 'no-such-mailbox', content: 'batch 2' },
      { mode: 'DIRECT', target: 'bob', content: 'batch 3', ttlSeconds: -1 },
      { mode: 'DIRECT', target: 'carol', content: 'batch 4' },
    ];
    const { sendMessages } = ok(
      await overWs<{ sendMessages: RouteView[] }>(alice, SEND_MANY, { inputs }),
    );
    expect(sendMessages.map((result) => result.status)).toEqual([
      'QUEUED',
      'QUEUED',
      'FAILED',
      'FAILED',
      'QUEUED',
    ]);
    expect(sendMessages[2]).toMatchObject({ errorCode: 'NOT_FOUND', messageId: '' });
    expect(sendMessages[3].errorCode).toBe('BAD_USER_INPUT');
    expect(sendMessages[3].error).toMatch(/^inputs\[3\]\.ttlSeconds: /);
    for (const index of [0, 1, 4]) {
      const target = inputs[index].target as string;
      const stored = await readAs(target, sendMessages[index].messageId);
      expect(stored).toMatchObject({ sender: 'alice', content: `batch ${index}` });
    }
  });

  const BAD_INPUTS: Array<[string, string, string, Record<string, unknown>]> = [
    [
      'a negative ttlSeconds',
      'BAD_USER_INPUT',
      SEND,
      { input: directInput('alice', 'bob', { ttlSeconds: -1 }) },
    ],
    [
      'an addressing mode the schema does not have, in the variables',
      'BAD_USER_INPUT',
      SEND,
      { input: { sender: 'alice', mode: 'SIDEWAYS', target: 'bob', content: 'x' } },
    ],
    [
      'no content, in the variables',
      'BAD_USER_INPUT',
      SEND,
      { input: { sender: 'alice', mode: 'DIRECT', target: 'bob' } },
    ],
    [
      'an addressing mode the schema does not have, in the document',
      'BAD_USER_INPUT',
      'mutation { sendMessage(input: { mode: SIDEWAYS, target: "bob", content: "x" }) { status } }',
      {},
    ],
    [
      'a field the schema does not have',
      'GRAPHQL_VALIDATION_FAILED',
      'mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { status priority } }',
      { input: directInput('alice', 'bob') },
    ],
    [
      'a document that does not parse',
      'GRAPHQL_PARSE_FAILED',
      'mutation { sendMessage(input: { mode: DIRECT ',
      {},
    ],
    [
      'two operations and no operation name',
      'OPERATION_RESOLUTION_FAILURE',
      `${SEND} mutation Other { sendMessage(input: { mode: BROADCAST, content: "x" }) { status } }`,
      { input: directInput('alice', 'bob') },
    ],
    ['a target that is not registered', 'NOT_FOUND', SEND, { input: directInput('alice', 'zed') }],
  ];

  it.each(BAD_INPUTS)(
    '%s is answered %s over the WebSocket, as over HTTP',
    async (_what, code, query, variables) => {
      const overHttp = await graphql(service.baseUrl, query, variables, as(tokens.alice));
      const answer = await overWs(await socketOf(tokens.alice), query, variables);
      expect(refusal(overHttp).code).toBe(code);
      expect(refusal(answer)).toEqual(refusal(overHttp));
      expect(answer.data ?? null).toBeNull();
    },
  );

  it('is FORBIDDEN to send as another mailbox, alone or in a batch, and stores nothing', async () => {
    const alice = await socketOf(tokens.alice);
    const before = await idsInMailbox('carol');
    const single = await overWs<{ sendMessage: RouteView }>(alice, SEND, {
      input: directInput('bob', 'carol', { content: 'posing as bob' }),
    });
    expect(single).toMatchObject({ nexts: 1, end: 'complete', data: null });
    expect(refusal(single).code).toBe('FORBIDDEN');
    expect(single.errors?.[0].message).toMatch(/^input\.sender: /);

    const { sendMessages } = ok(
      await overWs<{ sendMessages: RouteView[] }>(alice, SEND_MANY, {
        inputs: [directInput('bob', 'carol', { content: 'posing as bob' })],
      }),
    );
    expect(sendMessages[0]).toMatchObject({ status: 'FAILED', errorCode: 'FORBIDDEN' });
    expect(await idsInMailbox('carol')).toEqual(before);
  });

  it('lets the admin send naming the sender, and asks it to name one', async () => {
    const admin = await socketOf(ADMIN);
    const { sendMessage } = ok(
      await overWs<{ sendMessage: RouteView }>(admin, SEND, {
        input: directInput('carol', 'bob', { content: 'from the operator, as carol' }),
      }),
    );
    expect(await readAs('bob', sendMessage.messageId)).toMatchObject({
      sender: 'carol',
      content: 'from the operator, as carol',
    });

    const unnamed = await overWs(admin, SEND, {
      input: { mode: 'DIRECT', target: 'bob', content: 'from nobody' },
    });
    expect(refusal(unnamed).code).toBe('BAD_USER_INPUT');
    expect(unnamed.errors?.[0].message).toMatch(/^input\.sender: /);
  });

  it("charges the token's rate limit once per message, as over HTTP", async () => {
    const dave = await socketOf(tokens.dave);
    const batch = (size: number): Record<string, unknown> => ({
      inputs: Array.from({ length: size }, (_, i) =>
        directInput('dave', 'erin', { content: `${i}` }),
      ),
    });
    const overLimit = await graphql(
      service.baseUrl,
      SEND_MANY,
      batch(RATE_LIMIT + 1),
      as(tokens.dave),
    );
    expect(refusal(overLimit).code).toBe('RATE_LIMITED');
    const overLimitWs = await overWs(dave, SEND_MANY, batch(RATE_LIMIT + 1));
    expect(refusal(overLimitWs)).toEqual(refusal(overLimit));
    expect(overLimitWs.errors?.[0].extensions).toMatchObject({ limit: RATE_LIMIT });

    // The whole bucket spent over the socket leaves none for HTTP: one bucket per token. (It
    // refills RATE_LIMIT a minute: half of it would take 30 s to come back.)
    const whole = ok(
      await overWs<{ sendMessages: RouteView[] }>(dave, SEND_MANY, batch(RATE_LIMIT)),
    );
    expect(whole.sendMessages.every((result) => result.status === 'QUEUED')).toBe(true);
    const next = await graphql(service.baseUrl, SEND_MANY, batch(RATE_LIMIT / 2), as(tokens.dave));
    expect(refusal(next).code).toBe('RATE_LIMITED');
  });

  it('refuses the next operation over a socket whose token no longer matches, notice or not', async () => {
    const carol = await socketOf(tokens.carol);
    const send = { input: { mode: 'DIRECT', target: 'alice', content: 'before' } };
    expect(ok(await overWs<{ sendMessage: RouteView }>(carol, SEND, send)).sendMessage.status).toBe(
      'QUEUED',
    );
    // The stored hash changes with no notice on auth:revocations, as it does for an instance
    // whose pub/sub connection was down when the token was rotated: the socket stays open.
    const metadata = `${service.prefix}mailbox:{carol}:metadata`;
    const digest = await redis.hget(metadata, 'tokenHash');
    await redis.hset(metadata, 'tokenHash', 'f'.repeat(64));
    try {
      const refused = await overWs(carol, SEND, send);
      expect(refusal(refused).code).toBe('UNAUTHENTICATED');
    } finally {
      await redis.hset(metadata, 'tokenHash', digest as string);
    }
    expect(ok(await overWs<{ sendMessage: RouteView }>(carol, SEND, send)).sendMessage.status).toBe(
      'QUEUED',
    );
  });

  it('sends over a socket that holds as many subscriptions as it may', async () => {
    const erin = await socketOf(tokens.erin);
    const feeds = Array.from(
      { length: SUBSCRIPTIONS_PER_SOCKET },
      () =>
        new LiveSubscription<MessageView>(
          erin,
          MAILBOX_FEED,
          { mailbox: 'erin' },
          (data) => data.mailboxMessages as MessageView,
        ),
    );
    await waitForListeners(service, mailboxChannel(service, 'erin'), SUBSCRIPTIONS_PER_SOCKET);
    const refused = new LiveSubscription(erin, MAILBOX_FEED, { mailbox: 'erin' }, (data) => data);
    await refused.waitForEnd();
    expect(refused.errors[0]).toMatchObject({ extensions: { code: 'RATE_LIMITED' } });

    // More sends at once than the subscription cap: none of them is a subscription.
    const answers = await Promise.all(
      Array.from({ length: SUBSCRIPTIONS_PER_SOCKET * 3 }, (_, i) =>
        overWs<{ sendMessage: RouteView }>(erin, SEND, {
          input: { mode: 'DIRECT', target: 'carol', content: `while subscribed ${i}` },
        }),
      ),
    );
    const ids = answers.map((answer) => ok(answer).sendMessage.messageId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(await idsInMailbox('carol')).toEqual(expect.arrayContaining(ids));
    for (const feed of feeds) feed.unsubscribe();
  });
});

describe('mutations over the WebSocket in production', () => {
  let redisServer: RedisServer;
  let service: TestApp;
  let admin: Client;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    service = await startTestApp(redisServer.url, {
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      NODE_ENV: 'production',
    });
    admin = await connectWs(service.wsUrl, { authorization: `Bearer ${ADMIN}` });
  });

  afterAll(async () => {
    await admin.dispose();
    await service.close();
    await redisServer.destroy();
  });

  it('names no schema field in a validation error, as over HTTP', async () => {
    const query = 'mutation { sendMesage(input: { mode: BROADCAST, content: "x" }) { status } }';
    const overHttp: GraphqlResponse<unknown> = await graphql(
      service.baseUrl,
      query,
      {},
      {
        authorization: `Bearer ${ADMIN}`,
      },
    );
    const answer = await overWs(admin, query);
    expect(refusal(overHttp)).toEqual({
      code: 'GRAPHQL_VALIDATION_FAILED',
      message: 'Cannot query field "sendMesage" on type "Mutation".',
    });
    expect(refusal(answer)).toEqual(refusal(overHttp));
  });
});

describe('a send in flight over the WebSocket when the instance shuts down', () => {
  it('is answered before the socket closes with 1001', async () => {
    const redisServer = await RedisServer.start();
    const service = await startTestApp(redisServer.url);
    const client = await connectWs(service.wsUrl, {});
    try {
      await registerMailboxes(service.baseUrl, 'late', 'sink');
      // The send takes a while: the shutdown begins while it is under way.
      const router = service.app.get(MessageRouterService);
      const route = router.route.bind(router);
      jest.spyOn(router, 'route').mockImplementation(async (...args) => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        return route(...args);
      });
      const answer = overWs<{ sendMessage: RouteView }>(client, SEND, {
        input: directInput('late', 'sink', { content: 'under way at shutdown' }),
      });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const closing = service.close();
      const { sendMessage } = ok(await answer);
      expect(sendMessage.messageId).toMatch(/^[0-9A-Z]{26}$/);
      await closing;
    } finally {
      await client.dispose();
      await redisServer.destroy();
    }
  });
});

describe('an id sent again while its send is still under way', () => {
  it('is refused, and the first send still counts as answered at shutdown', async () => {
    const redisServer = await RedisServer.start();
    const service = await startTestApp(redisServer.url);
    // Every operation of this client has the same id, as a client reusing its ids would.
    const client = await new Promise<Client>((resolve, reject) => {
      const created: Client = createClient({
        url: service.wsUrl,
        webSocketImpl: WebSocket,
        generateID: () => 'same',
        lazy: false,
        retryAttempts: 0,
        onNonLazyError: () => undefined,
        on: { connected: () => resolve(created), error: reject },
      });
    });
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    let closed = false;
    try {
      await registerMailboxes(service.baseUrl, 'again', 'sink');
      // The first send is held under way until the gate opens.
      const router = service.app.get(MessageRouterService);
      const route = router.route.bind(router);
      const routes: Array<Promise<unknown>> = [];
      const routed = jest.spyOn(router, 'route').mockImplementation((...args) => {
        const routing = gate.then(() => route(...args));
        routes.push(routing);
        return routing;
      });
      const input = (content: string): Record<string, unknown> => ({
        input: directInput('again', 'sink', { content }),
      });
      const first = client.subscribe(
        { query: SEND, variables: input('first') },
        { next: () => undefined, error: () => undefined, complete: () => undefined },
      );
      await eventually(() => routed.mock.calls.length === 1);
      // The client gives up on it (graphql-ws sends `complete`) while it is still under way.
      first();
      const second = overWs<{ sendMessage: RouteView }>(client, SEND, input('second'));
      let answered = false;
      void second.finally(() => {
        answered = true;
      });
      // Refused at once, or else under way beside the first: either way it has an answer
      // once the gate opens.
      await eventually(() => answered || routed.mock.calls.length === 2);
      open();
      const answer = await second;
      expect(answer).toMatchObject({ nexts: 0, end: 'error' });
      expect(refusal(answer)).toEqual({
        code: 'BAD_USER_INPUT',
        message:
          'id: operation "same" of this connection is still ending; subscribe with another id',
      });
      expect(answer.errors?.[0].extensions).toMatchObject({ field: 'id' });
      expect(routed).toHaveBeenCalledTimes(1);

      // The first send ends unanswered (its client gave up on it), and is no longer counted as
      // under way: the shutdown does not wait for it.
      await routes[0];
      const closing = Date.now();
      closed = true;
      await service.close();
      expect(Date.now() - closing).toBeLessThan(IN_FLIGHT_WAIT_MS);
    } finally {
      open();
      await client.dispose();
      if (!closed) await service.close();
      await redisServer.destroy();
    }
  }, 20_000);
});
