import type { Client } from 'graphql-ws';
import type { Redis } from 'ioredis';
import WebSocket from 'ws';
import { directInput, topicInput } from '../factories/messages';
import {
  connectWs,
  eventually,
  graphql,
  graphqlOk,
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
  send,
  topicChannel,
  waitForListeners,
} from '../utils/service';
import { startTestApp, type TestApp } from '../utils/test-app';
import { newMessageId, messageIdTime } from '../../src/messages/message-id';
import { AddressingMode, MessagePriority } from '../../src/messages/message.model';
import { toHashFields, type StoredMessage } from '../../src/messages/stored-message';
import { RedisKeys } from '../../src/redis/redis-keys';

/** ROUTER_MAX_JSON_DEPTH's default, which the app under test runs with. */
const LIMIT = 32;
/** Deeper than JSON.stringify can go (a few thousand levels), as a planted message is. */
const PLANTED_DEPTH = 5_000;

/**
 * JSON text of `depth` nested objects (`{"a":{"a":{}}}` is depth 3). Written as text: the
 * test's own JSON.stringify could not serialize the deepest of them.
 */
function deepJson(depth: number): string {
  return `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
}

/** The same value as a GraphQL literal in the document. */
function deepLiteral(depth: number): string {
  return `${'{a: '.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
}

/** A JSON object's text with each string `"@name@"` of it replaced by the raw JSON text given. */
function withRawJson(value: object, raw: Record<string, string>): string {
  let text = JSON.stringify(value);
  for (const [name, json] of Object.entries(raw)) text = text.replace(`"@${name}@"`, json);
  return text;
}

/** POSTs a request body as it is, over real HTTP. */
async function postBody<T>(baseUrl: string, body: string): Promise<GraphqlResponse<T>> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, ...((await response.json()) as object) };
}

/**
 * Runs one operation over a raw graphql-ws WebSocket, with the `subscribe` payload written as
 * it is (the graphql-ws client would JSON.stringify it); resolves with its first answer.
 */
function overWebSocket(
  wsUrl: string,
  payload: string,
): Promise<{ type: string; payload: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(wsUrl, 'graphql-transport-ws');
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error('no answer over the WebSocket'));
    }, 10_000);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    socket.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as { type: string; id?: string; payload?: unknown };
      if (frame.type === 'connection_ack') {
        socket.send(`{"id":"1","type":"subscribe","payload":${payload}}`);
      } else if (frame.id === '1' && (frame.type === 'next' || frame.type === 'error')) {
        clearTimeout(timer);
        socket.close();
        resolve({ type: frame.type, payload: frame.payload });
      }
    });
    socket.on('close', (code, reason) => {
      clearTimeout(timer);
      reject(new Error(`closed ${code} ${reason.toString()}`));
    });
    socket.on('error', reject);
  });
}

async function expectReady(baseUrl: string): Promise<void> {
  expect((await fetch(`${baseUrl}/health/ready`)).status).toBe(200);
}

function expectTooDeep(response: GraphqlResponse<unknown>, field: string): void {
  expect(response.errors).toEqual([
    expect.objectContaining({
      message: `${field}: nests deeper than the limit of ${LIMIT} levels`,
      extensions: expect.objectContaining({
        code: 'BAD_USER_INPUT',
        field,
        limit: LIMIT,
      }) as unknown,
    }),
  ]);
  expect(response.data ?? null).toBeNull();
}

/** The field error of a stored metadata value that cannot be returned, at `path`. */
function unreadableAt(path: Array<string | number>, problem: RegExp): unknown {
  return expect.objectContaining({
    path,
    message: expect.stringMatching(problem) as unknown,
    extensions: expect.objectContaining({ code: 'INTERNAL_SERVER_ERROR' }) as unknown,
  });
}

const TOO_DEEP = /^the stored value nests deeper than 1000 levels and cannot be returned$/;
const NOT_JSON = /^the stored value is not valid JSON and cannot be returned$/;

const TOPIC_PAGE_WITH_METADATA = `
  query TopicPage($topic: String!) {
    topicMessages(topic: $topic) { nodes { id content metadata } }
  }`;

const TOPIC_FEED_WITH_METADATA = `
  subscription TopicFeed($pattern: String!) {
    topicMessages(pattern: $pattern) { id content metadata }
  }`;

describe('hostile JSON', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let service: TestApp;
  let keys: RedisKeys;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    service = await startTestApp(redisServer.url);
    keys = new RedisKeys(service.prefix);
    await registerMailboxes(service.baseUrl, 'alice', 'bob', 'carol', 'reader');
  });

  afterAll(async () => {
    await service.close();
    await redis.quit();
    await redisServer.destroy();
  });

  async function contentsOf(mailbox: string): Promise<string[]> {
    const data = await graphqlOk<{ mailbox: { messages: PageView } }>(
      service.baseUrl,
      MAILBOX_PAGE,
      { name: mailbox, first: 500 },
    );
    return data.mailbox.messages.nodes.map((node) => node.content);
  }

  describe('as input', () => {
    it(`sendMessage takes metadata ${LIMIT} deep and refuses deeper, up to 100,000, as BAD_USER_INPUT`, async () => {
      const sendWith = (depth: number, content: string): Promise<GraphqlResponse<unknown>> =>
        postBody(
          service.baseUrl,
          withRawJson(
            {
              query: SEND,
              variables: { input: directInput('alice', 'bob', { content, metadata: '@m@' }) },
            },
            { m: deepJson(depth) },
          ),
        );

      const accepted = await sendWith(LIMIT, 'at the limit');
      expect(accepted.errors).toBeUndefined();
      expect(accepted.data).toEqual({
        sendMessage: expect.objectContaining({ status: 'QUEUED' }) as unknown,
      });
      expectTooDeep(await sendWith(LIMIT + 1, 'one deeper'), 'input.metadata');
      expectTooDeep(await sendWith(100_000, 'far deeper'), 'input.metadata');

      expect(await contentsOf('bob')).toEqual(['at the limit']);
      const [stored] = (
        await graphqlOk<{ mailbox: { messages: PageView } }>(service.baseUrl, MAILBOX_PAGE, {
          name: 'bob',
        })
      ).mailbox.messages.nodes;
      expect(JSON.stringify(stored.metadata)).toBe(deepJson(LIMIT));
      await expectReady(service.baseUrl);
    });

    it('sendMessage refuses metadata written inline in the document the same way', async () => {
      const sendInline = (depth: number, content: string): Promise<GraphqlResponse<unknown>> =>
        graphql(
          service.baseUrl,
          `mutation { sendMessage(input: {sender: "alice", mode: DIRECT, target: "carol", content: "${content}", metadata: ${deepLiteral(depth)}}) { status } }`,
        );

      expect((await sendInline(LIMIT, 'inline at the limit')).errors).toBeUndefined();
      expectTooDeep(await sendInline(LIMIT + 1, 'inline one deeper'), 'input.metadata');
      // Not much deeper: graphql-js's parser recurses, and fails on the document before the
      // value reaches the scalar.
      expectTooDeep(await sendInline(1_000, 'inline far deeper'), 'input.metadata');

      expect(await contentsOf('carol')).toEqual(['inline at the limit']);
      await expectReady(service.baseUrl);
    });

    it('sendMessages fails only the inputs whose metadata is too deep', async () => {
      const body = withRawJson(
        {
          query: SEND_MANY,
          variables: {
            inputs: [
              topicInput('alice', 'batch.deep', { content: 'first', metadata: { ok: 1 } }),
              topicInput('alice', 'batch.deep', { content: 'second', metadata: '@one@' }),
              topicInput('alice', 'batch.deep', { content: 'third', metadata: '@limit@' }),
              topicInput('alice', 'batch.deep', { content: 'fourth', metadata: '@far@' }),
            ],
          },
        },
        { one: deepJson(LIMIT + 1), limit: deepJson(LIMIT), far: deepJson(100_000) },
      );

      const response = await postBody<{ sendMessages: RouteView[] }>(service.baseUrl, body);

      expect(response.errors).toBeUndefined();
      const tooDeep = (index: number): unknown =>
        expect.objectContaining({
          status: 'FAILED',
          errorCode: 'BAD_USER_INPUT',
          error: `inputs[${index}].metadata: nests deeper than the limit of ${LIMIT} levels`,
        });
      expect(response.data?.sendMessages).toEqual([
        expect.objectContaining({ status: 'QUEUED', error: null }),
        tooDeep(1),
        expect.objectContaining({ status: 'QUEUED', error: null }),
        tooDeep(3),
      ]);
      const page = await graphqlOk<{ topicMessages: { nodes: MessageView[] } }>(
        service.baseUrl,
        TOPIC_PAGE_WITH_METADATA,
        { topic: 'batch.deep' },
      );
      expect(page.topicMessages.nodes.map((node) => node.content)).toEqual(['first', 'third']);
      await expectReady(service.baseUrl);
    });

    it('registerMailbox takes metadata as deep as the limit and refuses deeper, as a variable or inline', async () => {
      const register = (name: string, depth: number): Promise<GraphqlResponse<unknown>> =>
        postBody(
          service.baseUrl,
          withRawJson(
            {
              query: `mutation ($name: String!, $metadata: JSON) { registerMailbox(name: $name, metadata: $metadata) { mailbox { name } } }`,
              variables: { name, metadata: '@m@' },
            },
            { m: deepJson(depth) },
          ),
        );
      const mailbox = async (name: string): Promise<unknown> =>
        (
          await graphqlOk<{ mailbox: { metadata: unknown } | null }>(
            service.baseUrl,
            `query ($name: String!) { mailbox(name: $name) { metadata } }`,
            { name },
          )
        ).mailbox;

      expect((await register('deep-ok', LIMIT)).errors).toBeUndefined();
      expect(JSON.stringify(await mailbox('deep-ok'))).toBe(`{"metadata":${deepJson(LIMIT)}}`);
      expectTooDeep(await register('deep-one', LIMIT + 1), 'metadata');
      expectTooDeep(await register('deep-far', 100_000), 'metadata');
      expectTooDeep(
        await graphql(
          service.baseUrl,
          `mutation { registerMailbox(name: "deep-inline", metadata: ${deepLiteral(LIMIT + 1)}) { token } }`,
        ),
        'metadata',
      );

      for (const name of ['deep-one', 'deep-far', 'deep-inline']) {
        expect(await mailbox(name)).toBeNull();
      }
      await expectReady(service.baseUrl);
    });

    it('a mutation sent over the WebSocket is refused the same way', async () => {
      const payload = (depth: number): string =>
        withRawJson(
          {
            query: SEND,
            variables: {
              input: directInput('alice', 'bob', { content: 'by socket', metadata: '@m@' }),
            },
          },
          { m: deepJson(depth) },
        );

      for (const depth of [LIMIT + 1, 100_000]) {
        const answer = await overWebSocket(service.wsUrl, payload(depth));
        expect(answer.type).toBe('next');
        expectTooDeep(answer.payload as GraphqlResponse<unknown>, 'input.metadata');
      }
      expect(await contentsOf('bob')).not.toContain('by socket');
      await expectReady(service.baseUrl);
    });
    it('a subscription with an undeclared 10,000-deep variable still gets its messages; one 100,000 deep is refused for its size', async () => {
      const socket = new WebSocket(service.wsUrl, 'graphql-transport-ws');
      const frames: Array<{ type: string; id?: string; payload?: unknown }> = [];
      const closed: Array<number> = [];
      socket.on('close', (code) => closed.push(code));
      await new Promise<void>((resolve, reject) => {
        socket.on('error', reject);
        socket.on('open', () =>
          socket.send(JSON.stringify({ type: 'connection_init', payload: {} })),
        );
        socket.on('message', (data: Buffer) => {
          const frame = JSON.parse(data.toString()) as {
            type: string;
            id?: string;
            payload?: unknown;
          };
          frames.push(frame);
          if (frame.type === 'connection_ack') resolve();
        });
      });
      const query =
        'subscription ($mailbox: String!) { mailboxMessages(mailbox: $mailbox) { content } }';
      const subscribe = (id: string, depth: number): string =>
        `{"id":"${id}","type":"subscribe","payload":{"query":${JSON.stringify(query)},"variables":{"mailbox":"bob","extra":${deepJson(depth)}}}}`;
      // 600 KB: over the 64 KiB a subscription's message may hold (graphql-ws keeps it for
      // the subscription's life), refused as any such message is, the socket kept.
      socket.send(subscribe('deeper', 100_000));
      await eventually(() => frames.some((frame) => frame.id === 'deeper'));
      expect(frames.filter((frame) => frame.id === 'deeper')).toMatchObject([
        {
          type: 'error',
          payload: [{ extensions: { code: 'BAD_USER_INPUT', field: 'payload', limit: 64 * 1024 } }],
        },
      ]);
      // 60 KB, within it.
      socket.send(subscribe('deep', 10_000));
      await waitForListeners(service, mailboxChannel(service, 'bob'), 1);
      await send(service.baseUrl, directInput('alice', 'bob', { content: 'to a deep subscriber' }));
      await eventually(() => frames.some((frame) => frame.type === 'next'), 10_000);
      expect(frames.find((frame) => frame.type === 'next')?.payload).toEqual({
        data: { mailboxMessages: { content: 'to a deep subscriber' } },
      });
      expect(closed).toEqual([]);
      socket.close();
      await expectReady(service.baseUrl);
    });
  });

  describe('stored where a response cannot carry it', () => {
    /** Writes a message as the repository does (toHashFields), with `metadata` as raw text. */
    async function plant(
      target: { mailbox: string } | { topic: string },
      metadata: string,
      content: string,
    ): Promise<StoredMessage> {
      const id = newMessageId();
      const message: StoredMessage = {
        id,
        sender: 'alice',
        mode: 'mailbox' in target ? AddressingMode.DIRECT : AddressingMode.TOPIC,
        target: 'mailbox' in target ? target.mailbox : target.topic,
        content,
        contentType: 'text/plain',
        subject: null,
        metadata: null,
        priority: MessagePriority.NORMAL,
        createdAt: messageIdTime(id),
        expiresAt: null,
        requireConfirmation: false,
        correlationId: null,
        replyTo: null,
        threadId: id,
        inReplyTo: null,
        replyBy: null,
        hop: 0,
      };
      await redis.hset(keys.message(id), ...toHashFields(message), 'metadata', metadata);
      const index =
        'mailbox' in target
          ? keys.mailboxMessages(target.mailbox)
          : keys.topicMessages(target.topic);
      await redis.zadd(index, message.createdAt, id);
      return message;
    }

    let deep: StoredMessage;

    beforeAll(async () => {
      await send(
        service.baseUrl,
        directInput('alice', 'reader', { content: 'good 1', metadata: { n: 1 } }),
      );
      deep = await plant({ mailbox: 'reader' }, deepJson(PLANTED_DEPTH), 'planted deep');
      await plant({ mailbox: 'reader' }, '{not json', 'planted broken');
      await send(
        service.baseUrl,
        directInput('alice', 'reader', { content: 'good 2', metadata: { n: 2 } }),
      );
    });

    it('a page renders every message, with an error on the metadata of each unreadable one', async () => {
      const response = await graphql<{ mailbox: { messages: PageView } }>(
        service.baseUrl,
        MAILBOX_PAGE,
        { name: 'reader' },
      );

      expect(response.status).toBe(200);
      const nodes = response.data?.mailbox.messages.nodes ?? [];
      expect(nodes.map((node) => [node.content, node.metadata])).toEqual([
        ['good 1', { n: 1 }],
        ['planted deep', null],
        ['planted broken', null],
        ['good 2', { n: 2 }],
      ]);
      expect(nodes[1]).toMatchObject({ id: deep.id, sender: 'alice', target: 'reader' });
      expect(response.errors).toEqual([
        unreadableAt(['mailbox', 'messages', 'nodes', 1, 'metadata'], TOO_DEEP),
        unreadableAt(['mailbox', 'messages', 'nodes', 2, 'metadata'], NOT_JSON),
      ]);
      await expectReady(service.baseUrl);
    });

    it('message(id) answers the message, with an error on its metadata', async () => {
      const response = await graphql<{ message: MessageView }>(service.baseUrl, MESSAGE, {
        id: deep.id,
      });

      expect(response.data?.message).toMatchObject({
        id: deep.id,
        content: 'planted deep',
        metadata: null,
      });
      expect(response.errors).toEqual([unreadableAt(['message', 'metadata'], TOO_DEEP)]);
    });

    it('topicMessages renders the other messages of the topic', async () => {
      await send(service.baseUrl, topicInput('alice', 'hostile.page', { content: 'topic good' }));
      await plant({ topic: 'hostile.page' }, deepJson(PLANTED_DEPTH), 'topic planted');
      await send(service.baseUrl, topicInput('alice', 'hostile.page', { content: 'topic later' }));

      const response = await graphql<{ topicMessages: { nodes: MessageView[] } }>(
        service.baseUrl,
        TOPIC_PAGE_WITH_METADATA,
        { topic: 'hostile.page' },
      );

      expect(response.data?.topicMessages.nodes.map((node) => node.content)).toEqual([
        'topic good',
        'topic planted',
        'topic later',
      ]);
      expect(response.errors).toEqual([
        unreadableAt(['topicMessages', 'nodes', 1, 'metadata'], TOO_DEEP),
      ]);
    });

    describe('feeds', () => {
      let ws: Client;

      beforeAll(async () => {
        ws = await connectWs(service.wsUrl);
      });

      afterAll(async () => {
        await ws.dispose();
      });

      it('a subscription resuming from "0" delivers the messages after an unreadable one, then live ones', async () => {
        const feed = new LiveSubscription(
          ws,
          MAILBOX_FEED,
          { mailbox: 'reader', after: '0' },
          (data) => data.mailboxMessages as MessageView,
        );
        await eventually(() => feed.values.length >= 4, 10_000);

        expect(feed.values.map((message) => [message.content, message.metadata])).toEqual([
          ['good 1', { n: 1 }],
          ['planted deep', null],
          ['planted broken', null],
          ['good 2', { n: 2 }],
        ]);
        expect(feed.errors).toEqual([
          unreadableAt(['mailboxMessages', 'metadata'], TOO_DEEP),
          unreadableAt(['mailboxMessages', 'metadata'], NOT_JSON),
        ]);

        // Live: a push of an unreadable message (as the store script publishes it), then a send.
        const pushed: StoredMessage = { ...deep, id: newMessageId(), content: 'pushed deep' };
        await redis.publish(
          mailboxChannel(service, 'reader'),
          JSON.stringify([...toHashFields(pushed), 'metadata', deepJson(PLANTED_DEPTH)]),
        );
        await send(service.baseUrl, directInput('alice', 'reader', { content: 'good 3' }));
        await eventually(() => feed.values.length >= 6, 10_000);

        expect(feed.values.slice(4).map((message) => [message.content, message.metadata])).toEqual([
          ['pushed deep', null],
          ['good 3', null],
        ]);
        expect(feed.errors).toHaveLength(3);
        expect(feed.errors[2]).toEqual(unreadableAt(['mailboxMessages', 'metadata'], TOO_DEEP));
        expect(feed.completed).toBe(false);
        feed.unsubscribe();
        await expectReady(service.baseUrl);
      });

      it('a topic feed delivers the messages after an unreadable one', async () => {
        const feed = new LiveSubscription(
          ws,
          TOPIC_FEED_WITH_METADATA,
          { pattern: 'hostile.live' },
          (data) => data.topicMessages as MessageView,
        );
        await waitForListeners(service, topicChannel(service), 1);

        // A topic push in the one push form, carrying metadata too deep to return.
        const pushed: StoredMessage = {
          ...deep,
          id: newMessageId(),
          mode: AddressingMode.TOPIC,
          target: 'hostile.live',
          content: 'topic pushed deep',
        };
        await redis.publish(
          topicChannel(service),
          JSON.stringify([...toHashFields(pushed), 'metadata', deepJson(PLANTED_DEPTH)]),
        );
        await send(service.baseUrl, topicInput('alice', 'hostile.live', { content: 'topic good' }));
        await eventually(() => feed.values.length >= 2, 10_000);

        expect(feed.values.map((message) => [message.content, message.metadata])).toEqual([
          ['topic pushed deep', null],
          ['topic good', null],
        ]);
        expect(feed.errors).toEqual([unreadableAt(['topicMessages', 'metadata'], TOO_DEEP)]);
        expect(feed.completed).toBe(false);
        feed.unsubscribe();
        await expectReady(service.baseUrl);
      });
    });
  });

  it('stays ready, and a plain JSON error names no stack', async () => {
    await expectReady(service.baseUrl);
    const response = await graphql(service.baseUrl, SEND, {
      input: directInput('alice', 'bob', { metadata: JSON.parse(deepJson(LIMIT + 1)) as unknown }),
    });
    expectTooDeep(response, 'input.metadata');
    expect(JSON.stringify(response.errors as GraphqlError[])).not.toMatch(/stack|at \w+ \(/);
  });
});
