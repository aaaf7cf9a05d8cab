import { request as httpRequest } from 'node:http';
import {
  Client as ModernClient,
  StreamableHTTPClientTransport as ModernTransport,
} from '@modelcontextprotocol/client';
import { type Client } from '@modelcontextprotocol/sdk/client/index.js';
import { eventually, graphql, graphqlOk } from '../utils/graphql-client';
import { REGISTER } from '../utils/documents';
import {
  StandaloneBackend,
  startRedisBackend,
  testTopology,
  type RedisBackend,
} from '../utils/redis-backend';
import {
  connectMcp,
  toolError,
  type AgentMessage,
  type ToolError,
  type ToolResult,
} from '../utils/mcp-client';
import { mailboxChannel, waitForListeners } from '../utils/service';
import { startTestApp, uniquePrefix, type TestApp } from '../utils/test-app';

// wait_for_message as the one door an agent has to its mailbox: tracked deliveries retried
// through it, its token checked while it waits, and a client gone before it began.

const ADMIN = 'admin-token-for-mcp-wait-tests-01234';

interface WaitResult {
  status: 'messages' | 'timeout';
  messages: AgentMessage[];
  waited_s: number;
}

interface Delivery {
  status: string;
  waitingForSubscriber: boolean;
  attempts: Array<{ number: number }>;
}

const DELIVERY_STATUS = `query Status($id: ID!) {
  deliveryStatus(messageId: $id) { status waitingForSubscriber attempts { number } }
}`;
const DEAD_LETTERS = `query Dead($mailbox: String) {
  deadLetters(mailbox: $mailbox) { mailbox attempts reason message { id } }
}`;
const ROTATE = `mutation Rotate($name: String!) { rotateMailboxToken(name: $name) { token } }`;
const DELETE = `mutation Delete($name: String!) { deleteMailbox(name: $name) }`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe(`MCP wait_for_message (two instances, the SDK client over real HTTP, ${testTopology()})`, () => {
  let redis: RedisBackend;
  let a: TestApp;
  let b: TestApp;
  const tokens: Record<string, string> = {};
  const clients: Array<{ close(): Promise<void> }> = [];

  const asAdmin = { authorization: `Bearer ${ADMIN}` };

  /** An SDK client of `app`'s /mcp with `token`. */
  async function connect(app: TestApp, token: string): Promise<Client> {
    const client = await connectMcp(app.baseUrl, token, { name: 'mcp-waits-e2e' });
    clients.push(client);
    return client;
  }

  async function call(
    client: Client,
    name: string,
    args: Record<string, unknown> = {},
  ): Promise<ToolResult> {
    return (await client.callTool({ name, arguments: args })) as ToolResult;
  }

  /** A successful call's structured result. */
  async function ok<T>(
    client: Client,
    name: string,
    args: Record<string, unknown> = {},
  ): Promise<T> {
    const result = await call(client, name, args);
    if (result.isError) throw new Error(`${name} failed: ${result.content[0]?.text}`);
    return result.structuredContent as T;
  }

  function errorOf(result: ToolResult): ToolError {
    expect(result.isError).toBe(true);
    return toolError(result);
  }

  async function register(app: TestApp, name: string): Promise<string> {
    const response = await graphql<{ registerMailbox: { token: string } }>(
      app.baseUrl,
      REGISTER,
      { name },
      asAdmin,
    );
    if (!response.data) throw new Error(JSON.stringify(response.errors));
    return response.data.registerMailbox.token;
  }

  /** The delivery of message `id` to its one recipient, as the admin sees it. */
  async function delivery(id: string): Promise<Delivery> {
    const data = await graphqlOk<{ deliveryStatus: Delivery[] }>(
      a.baseUrl,
      DELIVERY_STATUS,
      { id },
      asAdmin,
    );
    expect(data.deliveryStatus).toHaveLength(1);
    return data.deliveryStatus[0];
  }

  beforeAll(async () => {
    redis = await startRedisBackend();
    const environment = {
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      REDIS_KEY_PREFIX: uniquePrefix(),
      RATE_LIMIT_PER_MINUTE: '0',
      // Three attempts of a require_ack delivery, each retry 0.5 s after the last attempt.
      ROUTER_MAX_RETRY_ATTEMPTS: '2',
      ROUTER_BASE_RETRY_DELAY: '0.5',
      ROUTER_MAX_RETRY_DELAY: '0.5',
      ROUTER_RETRY_CHECK_INTERVAL: '0.1',
      ROUTER_RETRY_JITTER: 'false',
      // A deleted mailbox's entries go at once, so that its name can be registered again.
      ROUTER_CLEANUP_INTERVAL: '0.2',
    };
    a = await startTestApp(redis, environment);
    b = await startTestApp(redis, { ...environment, REDIS_KEY_PREFIX: a.prefix });
    for (const name of ['planner', 'worker', 'acker', 'rotated', 'doomed']) {
      tokens[name] = await register(a, name);
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await b?.close();
    await a?.close();
    await redis?.destroy();
  });

  it('retries a require_ack message fetched by a wait on later waits, then dead-letters it when never acknowledged', async () => {
    const planner = await connect(a, tokens.planner);
    const worker = await connect(b, tokens.worker);
    // Sent while the worker is not waiting: no subscriber, so no attempt yet.
    const sent = await ok<{ message_id: string }>(planner, 'send_message', {
      to: 'worker',
      body: 'handle, then acknowledge',
      require_ack: true,
    });
    expect(await delivery(sent.message_id)).toMatchObject({
      status: 'PENDING',
      waitingForSubscriber: true,
      attempts: [],
    });

    // The wait finds it unread: that is its first attempt.
    const first = await ok<WaitResult>(worker, 'wait_for_message', { timeout_s: 5 });
    expect(first.messages.map((message) => message.message_id)).toEqual([sent.message_id]);
    expect(first.messages[0]).toMatchObject({ needs_ack: true, read: true });
    expect(first.messages[0]).not.toHaveProperty('delivery_attempt');
    expect((await delivery(sent.message_id)).attempts).toHaveLength(1);

    for (const attempt of [2, 3]) {
      // Its retry comes while no wait runs: the delivery waits for a subscriber.
      await eventually(async () => (await delivery(sent.message_id)).waitingForSubscriber, 10_000);
      expect(await delivery(sent.message_id)).toMatchObject({
        status: 'PENDING',
        attempts: Array.from({ length: attempt - 1 }, (_, index) => ({ number: index + 1 })),
      });
      // Read already, so not in the unread list: the next wait is the subscriber it waited for.
      const again = await call(worker, 'wait_for_message', { timeout_s: 10 });
      const [redelivered] = (again.structuredContent as unknown as WaitResult).messages;
      expect(redelivered).toMatchObject({
        message_id: sent.message_id,
        delivery_attempt: attempt,
        read: true,
      });
      expect(again.content[0].text).toContain(`redelivered, attempt ${attempt}`);
    }

    // Attempts run out: FAILED, with a dead letter, and the message comes back no more.
    await eventually(async () => (await delivery(sent.message_id)).status === 'FAILED', 10_000);
    expect((await delivery(sent.message_id)).attempts).toHaveLength(3);
    const dead = await graphqlOk<{
      deadLetters: Array<{ mailbox: string; attempts: number; message: { id: string } }>;
    }>(a.baseUrl, DEAD_LETTERS, { mailbox: 'worker' }, asAdmin);
    expect(dead.deadLetters).toEqual([
      expect.objectContaining({ mailbox: 'worker', attempts: 3, message: { id: sent.message_id } }),
    ]);
    const after = await ok<WaitResult>(worker, 'wait_for_message', { timeout_s: 1 });
    expect(after.status).toBe('timeout');
  }, 60_000);

  it('delivers a require_ack message fetched by a wait and acknowledged, once', async () => {
    const planner = await connect(b, tokens.planner);
    const acker = await connect(a, tokens.acker);
    const sent = await ok<{ message_id: string }>(planner, 'send_message', {
      to: 'acker',
      body: 'acknowledge me',
      require_ack: true,
    });
    const got = await ok<WaitResult>(acker, 'wait_for_message', { timeout_s: 5 });
    expect(got.messages.map((message) => message.message_id)).toEqual([sent.message_id]);
    const acked = await ok<{ acknowledged: string[] }>(acker, 'acknowledge', {
      message_ids: [sent.message_id],
    });
    expect(acked.acknowledged).toEqual([sent.message_id]);
    // Past the time of its retry: still DELIVERED after its one attempt, and no wait gets it.
    await sleep(1_000);
    expect(await delivery(sent.message_id)).toMatchObject({
      status: 'DELIVERED',
      attempts: [{ number: 1 }],
    });
    const after = await ok<WaitResult>(acker, 'wait_for_message', { timeout_s: 1 });
    expect(after.status).toBe('timeout');
    const status = await ok<{ recipients: Array<{ status: string; attempts: number }> }>(
      planner,
      'message_status',
      { message_id: sent.message_id },
    );
    expect(status.recipients).toEqual([
      expect.objectContaining({ mailbox: 'acker', status: 'DELIVERED', attempts: 1 }),
    ]);
  });

  it('ends a wait whose token is rotated meanwhile, and gives it nothing that came after', async () => {
    const planner = await connect(a, tokens.planner);
    const old = await connect(b, tokens.rotated);
    const started = Date.now();
    const waiting = call(old, 'wait_for_message', { timeout_s: 30 });
    await waitForListeners(b, mailboxChannel(b, 'rotated'), 1);
    const rotated = await graphqlOk<{ rotateMailboxToken: { token: string } }>(
      a.baseUrl,
      ROTATE,
      { name: 'rotated' },
      asAdmin,
    );
    const sent = await ok<{ message_id: string }>(planner, 'send_message', {
      to: 'rotated',
      body: 'for the holder of the new token',
    });
    const refusal = errorOf(await waiting);
    expect(refusal.code).toBe('UNAUTHENTICATED');
    expect(refusal.text).toMatch(/^UNAUTHENTICATED: authorization: /);
    expect(Date.now() - started).toBeLessThan(15_000);
    // The message stays unread, for the new token's holder.
    const fresh = await connect(a, rotated.rotateMailboxToken.token);
    const inbox = await ok<{ messages: AgentMessage[] }>(fresh, 'check_inbox');
    expect(inbox.messages).toEqual([
      expect.objectContaining({ message_id: sent.message_id, read: false }),
    ]);
  });

  it('ends a wait whose mailbox is deleted and registered again meanwhile', async () => {
    const planner = await connect(a, tokens.planner);
    const old = await connect(a, tokens.doomed);
    const waiting = call(old, 'wait_for_message', { timeout_s: 30 });
    await waitForListeners(a, mailboxChannel(a, 'doomed'), 1);
    const deleted = await graphqlOk<{ deleteMailbox: boolean }>(
      b.baseUrl,
      DELETE,
      { name: 'doomed' },
      asAdmin,
    );
    expect(deleted.deleteMailbox).toBe(true);
    // Another agent's mailbox of the same name, once the old one's entries are gone.
    let token: string | null = null;
    await eventually(async () => {
      const response = await graphql<{ registerMailbox: { token: string } }>(
        b.baseUrl,
        REGISTER,
        { name: 'doomed' },
        asAdmin,
      );
      token = response.data?.registerMailbox.token ?? null;
      return token !== null;
    }, 15_000);
    const sent = await ok<{ message_id: string }>(planner, 'send_message', {
      to: 'doomed',
      body: 'for the new mailbox',
    });
    expect(errorOf(await waiting).code).toBe('UNAUTHENTICATED');
    const fresh = await connect(b, token!);
    const inbox = await ok<{ messages: AgentMessage[] }>(fresh, 'check_inbox');
    expect(inbox.messages).toEqual([
      expect.objectContaining({ message_id: sent.message_id, read: false }),
    ]);
  }, 30_000);

  describe('a client that goes away while its token is being checked', () => {
    let own: StandaloneBackend;
    let app: TestApp;
    const names: Record<string, string> = {};

    beforeAll(async () => {
      own = await StandaloneBackend.start();
      app = await startTestApp(own, {
        AUTH_ENABLED: 'true',
        ADMIN_TOKEN: ADMIN,
        REDIS_KEY_PREFIX: uniquePrefix(),
        RATE_LIMIT_PER_MINUTE: '0',
      });
      for (const name of ['legacy', 'modern']) names[name] = await register(app, name);
    }, 60_000);

    afterAll(async () => {
      // A wait that outlived its client (the defect) holds the instance's close until it ends.
      await app?.close();
      await own?.destroy();
    }, 60_000);

    /**
     * Sends a wait (a POST of `body` with `headers`) and drops its connection while Redis is
     * stopped (SIGSTOP), so that the service is still checking its token when the client goes;
     * then lets Redis go on. Over a connection of its own, shared with no other request.
     */
    async function dropWhileAuthenticating(
      headers: Record<string, string>,
      body: string,
    ): Promise<void> {
      own.server.pause();
      try {
        const request = httpRequest(`${app.baseUrl}/mcp`, {
          method: 'POST',
          agent: false,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        });
        request.on('error', () => undefined);
        const closed = new Promise((resolve) => request.once('close', resolve));
        request.end(body);
        await sleep(300);
        // No answer could come while Redis is stopped: the request is still being served.
        expect(request.writableFinished && request.socket !== null).toBe(true);
        request.destroy();
        await closed;
        await sleep(100);
      } finally {
        own.server.resume();
      }
    }

    /** Whether a new wait of the mailbox is accepted within about 3 s. */
    async function freed(client: Client): Promise<{ refusal: string | null }> {
      let refusal: string | null = 'never tried';
      for (let i = 0; i < 30 && refusal !== null; i++) {
        const next = await call(client, 'wait_for_message', { timeout_s: 1, from: 'nobody' });
        refusal = next.isError ? (next.content[0]?.text ?? '') : null;
        if (refusal !== null) await sleep(100);
      }
      return { refusal };
    }

    it('ends the wait of a 2025-era request at once, and frees the mailbox', async () => {
      const probe = await connect(app, names.legacy);
      await dropWhileAuthenticating(
        {
          authorization: `Bearer ${names.legacy}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-06-18',
        },
        JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: { name: 'wait_for_message', arguments: { timeout_s: 40, from: 'nobody' } },
        }),
      );
      expect(await freed(probe)).toEqual({ refusal: null });
    }, 30_000);

    it('ends the wait of a 2026-07-28 request at once, and frees the mailbox', async () => {
      // The request as the SDK v2 client makes it, taken from a wait it sends.
      let captured: { headers: Record<string, string>; body: string } | null = null;
      const modern = new ModernClient({ name: 'mcp-waits-e2e-modern', version: '1.0.0' });
      await modern.connect(
        new ModernTransport(new URL(`${app.baseUrl}/mcp`), {
          requestInit: { headers: { authorization: `Bearer ${names.modern}` } },
          fetch: (url, init) => {
            if (typeof init?.body === 'string' && init.body.includes('"wait_for_message"')) {
              captured = {
                headers: Object.fromEntries(new Headers(init.headers).entries()),
                body: init.body,
              };
            }
            return fetch(url, init);
          },
        }),
      );
      try {
        const timedOut = await modern.callTool({
          name: 'wait_for_message',
          arguments: { timeout_s: 1, from: 'nobody' },
        });
        expect(timedOut.structuredContent).toMatchObject({ status: 'timeout' });
      } finally {
        await modern.close();
      }
      const request = captured as { headers: Record<string, string>; body: string } | null;
      expect(request).not.toBeNull();
      expect(request!.headers.authorization).toBe(`Bearer ${names.modern}`);
      const body = JSON.parse(request!.body) as { params: { arguments: Record<string, unknown> } };
      body.params.arguments.timeout_s = 40;
      const probe = await connect(app, names.modern);
      await dropWhileAuthenticating(request!.headers, JSON.stringify(body));
      expect(await freed(probe)).toEqual({ refusal: null });
    }, 30_000);
  });
});
