import { Logger } from '@nestjs/common';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import {
  GraphqlWsServer,
  LAG_GRACE_MS,
  MAX_OPERATION_ID_LENGTH,
  MAX_SUBSCRIBE_FRAME_BYTES,
  OPERATIONS_PER_SOCKET,
} from '../../src/graphql/graphql-ws.server';
import { MailboxesService } from '../../src/mailboxes/mailboxes.service';
import { RedisPubSubService } from '../../src/redis/redis-pubsub.service';
import { directInput } from '../factories/messages';
import { connectWs, eventually } from '../utils/graphql-client';
import { RedisServer } from '../utils/redis-server';
import {
  mailboxChannel,
  registerMailboxes,
  send,
  subscribeMailbox,
  waitForListeners,
} from '../utils/service';
import { startTestApp, type TestApp } from '../utils/test-app';

const KiB = 1024;
const MiB = 1024 * KiB;
/** WS_MAX_BUFFERED_BYTES for this suite. */
const LIMIT = 1 * MiB;
const CONTENT = 'x'.repeat(64 * KiB);
/** A pushed message with CONTENT: the content and the fields and framing around it. */
const FRAME_BOUND = CONTENT.length + 4 * KiB;

const FEED_WITH_CONTENT = `
  subscription Feed($mailbox: String!) { mailboxMessages(mailbox: $mailbox) { id content } }`;
const MAILBOX_NAME = 'query Box($name: String!) { mailbox(name: $name) { name } }';

interface Closed {
  code: number;
  reason: string;
}

interface Frame {
  id?: string;
  type: string;
  payload?: unknown;
}

/**
 * A graphql-transport-ws client written by hand over a plain `ws` socket: it sends whatever
 * frames it is told to, those no graphql-ws client would send included, and keeps every frame
 * it receives.
 */
class RawSocket {
  readonly frames: Frame[] = [];
  readonly closed: Promise<Closed>;

  private constructor(private readonly socket: WebSocket) {
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    socket.on('message', (data: Buffer) => this.frames.push(JSON.parse(data.toString()) as Frame));
  }

  /** An open socket, acknowledged after `connection_init` with `init`, or never initialised. */
  static async open(
    service: TestApp,
    init: Record<string, unknown> | null = {},
  ): Promise<RawSocket> {
    const raw = new RawSocket(new WebSocket(service.wsUrl, 'graphql-transport-ws'));
    await once(raw.socket, 'open');
    if (init !== null) {
      raw.send({ type: 'connection_init', payload: init });
      await eventually(() => raw.frames.some((frame) => frame.type === 'connection_ack'));
    }
    return raw;
  }

  send(frame: Frame): void {
    this.socket.send(JSON.stringify(frame));
  }

  /** The frames received for operation `id`. */
  of(id: string): Frame[] {
    return this.frames.filter((frame) => frame.id === id);
  }

  ofType(type: string): Frame[] {
    return this.frames.filter((frame) => frame.type === type);
  }

  close(): void {
    this.socket.terminate();
  }
}

/**
 * A subscriber that speaks graphql-transport-ws itself over a plain `ws` socket, so that it
 * can stop reading (`pause()`) the way a slow agent would, while its socket stays open.
 */
class RawSubscriber {
  readonly ids: string[] = [];
  readonly closed: Promise<Closed>;
  private readonly acknowledged: Promise<void>;

  private constructor(private readonly socket: WebSocket) {
    this.closed = new Promise((resolve) =>
      socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.acknowledged = new Promise((resolve) => {
      socket.on('message', (data: Buffer) => {
        const message = JSON.parse(data.toString()) as {
          type: string;
          payload?: { data?: { mailboxMessages: { id: string } } };
        };
        if (message.type === 'connection_ack') resolve();
        if (message.type === 'next' && message.payload?.data) {
          this.ids.push(message.payload.data.mailboxMessages.id);
        }
      });
    });
  }

  static async subscribe(service: TestApp, mailbox: string): Promise<RawSubscriber> {
    const socket = new WebSocket(service.wsUrl, 'graphql-transport-ws');
    const subscriber = new RawSubscriber(socket);
    await once(socket, 'open');
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: '' } }));
    await subscriber.acknowledged;
    socket.send(
      JSON.stringify({
        id: 'feed',
        type: 'subscribe',
        payload: { query: FEED_WITH_CONTENT, variables: { mailbox } },
      }),
    );
    await waitForListeners(service, mailboxChannel(service, mailbox), 1);
    return subscriber;
  }

  /** Stops reading: what the service sends stays in the kernel's and the service's buffers. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.terminate();
  }
}

describe('hostile sockets: a reader that does not keep up', () => {
  let redis: RedisServer;
  let service: TestApp;
  let wsServer: GraphqlWsServer;
  let pubsub: RedisPubSubService;
  const gc = (): void => {
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();
  };

  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await startTestApp(redis.url, { WS_MAX_BUFFERED_BYTES: String(LIMIT) });
    wsServer = service.app.get(GraphqlWsServer);
    pubsub = service.app.get(RedisPubSubService);
    await registerMailboxes(
      service.baseUrl,
      'sender',
      'stalled',
      'big',
      'fast',
      'alone',
      'stopped',
      'roomy',
    );
  });

  afterAll(async () => {
    await service.close();
    await redis.destroy();
  });

  const samplers: NodeJS.Timeout[] = [];
  afterEach(() => {
    for (const timer of samplers.splice(0)) clearInterval(timer);
  });

  /** The most any socket of the service has held unsent, sampled every millisecond. */
  function sampleUnsent(): () => number {
    let max = 0;
    const take = (): void => {
      for (const bytes of wsServer.unsentBytes()) max = Math.max(max, bytes);
    };
    samplers.push(setInterval(take, 1));
    return () => {
      take();
      return max;
    };
  }

  it('closes a socket that stops reading with 1013 and how to resume, holding no more than the limit; after = the last id gets the rest', async () => {
    const subscriber = await RawSubscriber.subscribe(service, 'stalled');
    const closedBefore = wsServer.closedLagging;
    subscriber.pause();
    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const maxUnsent = sampleUnsent();

    // 600 x 64 KiB: far more than the kernel's buffers, the limit and the feed's own bound.
    const sent: string[] = [];
    for (let index = 0; index < 600; index += 1) {
      sent.push(
        (await send(service.baseUrl, directInput('sender', 'stalled', { content: CONTENT })))
          .messageId,
      );
    }
    gc();
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;

    // 37.5 MiB sent to it. The socket holds the limit and one message; its feed holds at most
    // 8 MiB of what waits behind them (the heap is where a feed's backlog lives).
    expect(maxUnsent()).toBeGreaterThan(LIMIT);
    expect(maxUnsent()).toBeLessThanOrEqual(LIMIT + FRAME_BOUND);
    expect(heapGrowth).toBeLessThan(20 * MiB);
    // The service stops holding anything for it while it still has not read.
    await eventually(() => wsServer.closedLagging === closedBefore + 1, LAG_GRACE_MS * 3);
    await eventually(() => pubsub.listenerCount(mailboxChannel(service, 'stalled')) === 0);
    expect(subscriber.ids).toEqual([]);

    subscriber.resume();
    const closed = await subscriber.closed;

    expect(closed.code).toBe(1013);
    expect(closed.reason).toMatch(
      /over 1048576 bytes unsent; resubscribe with after = the last id/,
    );
    // What was queued before the close still arrives, in order.
    expect(subscriber.ids.length).toBeGreaterThan(0);
    expect(subscriber.ids).toEqual(sent.slice(0, subscriber.ids.length));
    const ws = await connectWs(service.wsUrl);
    const resumed = await subscribeMailbox(service, ws, 'stalled', subscriber.ids.at(-1));
    const rest = await resumed.waitFor(sent.length - subscriber.ids.length, 20_000);
    expect([...subscriber.ids, ...rest.map((message) => message.id)]).toEqual(sent);
    resumed.unsubscribe();
    await ws.dispose();
  }, 60_000);

  it('refuses an id completed but not yet ended, so no subscription outlives its socket', async () => {
    const socket = new WebSocket(service.wsUrl, 'graphql-transport-ws');
    type Frame = { id?: string; type: string; payload?: unknown };
    const messages: Frame[] = [];
    socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString()) as Frame));
    await once(socket, 'open');
    socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    await eventually(() => messages.some((message) => message.type === 'connection_ack'));
    const subscribe = JSON.stringify({
      id: 'x',
      type: 'subscribe',
      payload: { query: FEED_WITH_CONTENT, variables: { mailbox: 'alone' } },
    });
    // Back to back: the first is still starting (its resolver waits on Redis) when the
    // complete and the same id again come.
    socket.send(subscribe);
    socket.send(JSON.stringify({ id: 'x', type: 'complete' }));
    socket.send(subscribe);
    const channel = mailboxChannel(service, 'alone');
    await eventually(() =>
      messages.some(
        (message) =>
          message.id === 'x' &&
          message.type === 'error' &&
          JSON.stringify(message.payload).includes('is still ending'),
      ),
    );
    socket.terminate();
    await once(socket, 'close');
    await eventually(() => pubsub.listenerCount(channel) === 0, 5_000);
  });

  it('keeps a socket that takes in one message larger than the limit', async () => {
    const ws = await connectWs(service.wsUrl);
    const feed = await subscribeMailbox(service, ws, 'big');
    const closedBefore = wsServer.closedLagging;
    const maxUnsent = sampleUnsent();
    const content = 'y'.repeat(12 * MiB);

    await send(service.baseUrl, directInput('sender', 'big', { content }));
    const [pushed] = await feed.waitFor(1, 20_000);
    expect(pushed.content.length).toBe(content.length);
    // It did hold more than the limit, for as long as the reader took to read it.
    expect(maxUnsent()).toBeGreaterThan(LIMIT);
    await new Promise((resolve) => setTimeout(resolve, LAG_GRACE_MS + 1_000));
    const after = await send(service.baseUrl, directInput('sender', 'big'));

    expect((await feed.waitFor(2))[1].id).toBe(after.messageId);
    expect(wsServer.closedLagging).toBe(closedBefore);
    feed.unsubscribe();
    await ws.dispose();
  }, 60_000);

  it('keeps delivering to another subscriber, in order, while one holds more than the limit unsent', async () => {
    const ws = await connectWs(service.wsUrl);
    const fast = await subscribeMailbox(service, ws, 'fast');

    // A reader of `stopped` that has stopped reading, pushed over the limit.
    const stopped = await RawSubscriber.subscribe(service, 'stopped');
    stopped.pause();
    const maxUnsent = sampleUnsent();
    while (maxUnsent() <= LIMIT) {
      await send(service.baseUrl, directInput('sender', 'stopped', { content: CONTENT }));
    }
    const closedBefore = wsServer.closedLagging;

    // Each send to `fast` is pushed before the next one goes, while 64 KiB messages keep
    // going to the stalled reader: a socket blocked behind it would stop this loop.
    let pumping = true;
    const pump = (async () => {
      while (pumping)
        await send(service.baseUrl, directInput('sender', 'stopped', { content: CONTENT }));
    })();
    const sent: string[] = [];
    for (let index = 0; index < 100 && wsServer.closedLagging === closedBefore; index += 1) {
      const before = fast.values.length;
      sent.push((await send(service.baseUrl, directInput('sender', 'fast'))).messageId);
      await fast.waitFor(before + 1, 5_000);
    }
    pumping = false;
    await pump;

    expect(sent.length).toBeGreaterThan(0);
    expect(fast.values.map((message) => message.id)).toEqual(sent);
    // The stalled socket was still over the limit while these were delivered (or was closed
    // for it, which ends the loop): its backlog never reached the other reader.
    expect(maxUnsent()).toBeGreaterThan(LIMIT);
    stopped.close();
    fast.unsubscribe();
    await ws.dispose();
  }, 60_000);

  /** The heap that `step` leaves held, measured after a full collection before and after. */
  async function heapHeldBy(step: () => Promise<void>): Promise<number> {
    gc();
    const before = process.memoryUsage().heapUsed;
    await step();
    gc();
    return process.memoryUsage().heapUsed - before;
  }

  it(`refuses a query beyond ${OPERATIONS_PER_SOCKET} under way on one socket as RATE_LIMITED, and keeps the socket`, async () => {
    const mailboxes = service.app.get(MailboxesService);
    const find = mailboxes.find.bind(mailboxes);
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    // Every query is held under way until the gate opens.
    const held = jest
      .spyOn(mailboxes, 'find')
      .mockImplementation((name) => gate.then(() => find(name)));
    const socket = await RawSocket.open(service);
    try {
      const over = 3;
      const ids = Array.from({ length: OPERATIONS_PER_SOCKET + over }, (_, index) => `q${index}`);
      const query = (id: string): Frame => ({
        id,
        type: 'subscribe',
        payload: { query: MAILBOX_NAME, variables: { name: 'alone' } },
      });
      // All at once, as a client that never waits for an answer would.
      for (const id of ids) socket.send(query(id));
      await eventually(() => socket.ofType('error').length === over);

      expect(socket.ofType('error')).toMatchObject(
        ids.slice(OPERATIONS_PER_SOCKET).map((id) => ({
          id,
          payload: [
            {
              message: `operations: this connection already has ${OPERATIONS_PER_SOCKET} queries and mutations under way; the limit is ${OPERATIONS_PER_SOCKET} per connection`,
              extensions: { code: 'RATE_LIMITED', limit: OPERATIONS_PER_SOCKET },
            },
          ],
        })),
      );
      open();
      await eventually(() => socket.ofType('complete').length === OPERATIONS_PER_SOCKET);
      for (const id of ids.slice(0, OPERATIONS_PER_SOCKET)) {
        expect(socket.of(id)).toEqual([
          { id, type: 'next', payload: { data: { mailbox: { name: 'alone' } } } },
          { id, type: 'complete' },
        ]);
      }
      // The socket stays open, and once the answers are out it takes the next query.
      socket.send(query('after'));
      await eventually(() => socket.of('after').length === 2);
      expect(socket.of('after')[0]).toMatchObject({ type: 'next' });
      expect(held).toHaveBeenCalledTimes(OPERATIONS_PER_SOCKET + 1);
    } finally {
      open();
      held.mockRestore();
      socket.close();
    }
  });

  it(`refuses an id longer than ${MAX_OPERATION_ID_LENGTH} characters as BAD_USER_INPUT on id, and takes one that long`, async () => {
    const socket = await RawSocket.open(service);
    const tooLong = 'i'.repeat(MAX_OPERATION_ID_LENGTH + 1);
    const longest = 'j'.repeat(MAX_OPERATION_ID_LENGTH);
    for (const id of [tooLong, longest]) {
      socket.send({
        id,
        type: 'subscribe',
        payload: { query: MAILBOX_NAME, variables: { name: 'alone' } },
      });
    }
    await eventually(() => socket.of(tooLong).length === 1 && socket.of(longest).length === 2);

    expect(socket.of(tooLong)).toMatchObject([
      {
        type: 'error',
        payload: [
          {
            message: `id: ${MAX_OPERATION_ID_LENGTH + 1} characters; the limit is ${MAX_OPERATION_ID_LENGTH}`,
            extensions: { code: 'BAD_USER_INPUT', field: 'id', limit: MAX_OPERATION_ID_LENGTH },
          },
        ],
      },
    ]);
    expect(socket.of(longest)).toEqual([
      { id: longest, type: 'next', payload: { data: { mailbox: { name: 'alone' } } } },
      { id: longest, type: 'complete' },
    ]);
    socket.close();
  });

  it(`refuses a subscription whose subscribe message passes ${MAX_SUBSCRIBE_FRAME_BYTES} bytes as BAD_USER_INPUT on payload, holding nothing of it, and runs one at the limit`, async () => {
    const socket = await RawSocket.open(service);
    const channel = mailboxChannel(service, 'roomy');
    const subscribe = (id: string, padding: string): Frame => ({
      id,
      type: 'subscribe',
      payload: { query: FEED_WITH_CONTENT, variables: { mailbox: 'roomy', unused: padding } },
    });
    const frameLength = (frame: Frame): number => Buffer.byteLength(JSON.stringify(frame));
    // graphql-ws holds a subscription's message for the subscription's whole life, as it
    // came and parsed: 8 MiB here, in every one of the socket's subscriptions. Refused, none
    // of it stays.
    const variableBytes = 8 * MiB;
    const held = await heapHeldBy(async () => {
      for (const id of ['big1', 'big2', 'big3']) {
        socket.send(subscribe(id, 'u'.repeat(variableBytes)));
      }
      await eventually(() => socket.ofType('error').length === 3);
    });

    expect(held).toBeLessThan(2 * MiB);
    const size = frameLength(subscribe('big1', 'u'.repeat(variableBytes)));
    expect(socket.of('big1')).toEqual([
      {
        id: 'big1',
        type: 'error',
        payload: [
          {
            message: `subscribe: a message of ${size} bytes; the limit for a subscription is ${MAX_SUBSCRIBE_FRAME_BYTES}`,
            extensions: {
              code: 'BAD_USER_INPUT',
              field: 'payload',
              limit: MAX_SUBSCRIBE_FRAME_BYTES,
            },
          },
        ],
      },
    ]);
    // One byte over is refused; a message of exactly the limit runs.
    const base = frameLength(subscribe('edge', ''));
    socket.send(subscribe('over', 'v'.repeat(MAX_SUBSCRIBE_FRAME_BYTES - base + 1)));
    await eventually(() => socket.of('over').length === 1);
    expect(socket.of('over')[0]).toMatchObject({
      type: 'error',
      payload: [{ extensions: { code: 'BAD_USER_INPUT', field: 'payload' } }],
    });
    const edge = subscribe('edge', 'v'.repeat(MAX_SUBSCRIBE_FRAME_BYTES - base));
    expect(frameLength(edge)).toBe(MAX_SUBSCRIBE_FRAME_BYTES);
    socket.send(edge);
    await waitForListeners(service, channel, 1);
    const { messageId } = await send(service.baseUrl, directInput('sender', 'roomy'));
    await eventually(() => socket.of('edge').length > 0);
    expect(socket.of('edge')[0]).toMatchObject({
      type: 'next',
      payload: { data: { mailboxMessages: { id: messageId } } },
    });
    // A query or a mutation, answered once and not held, may still come in a large message.
    socket.send({
      id: 'query',
      type: 'subscribe',
      payload: { query: MAILBOX_NAME, variables: { name: 'alone', unused: 'w'.repeat(MiB) } },
    });
    await eventually(() => socket.of('query').length === 2);
    expect(socket.of('query')[0]).toEqual({
      id: 'query',
      type: 'next',
      payload: { data: { mailbox: { name: 'alone' } } },
    });
    socket.close();
    await eventually(() => pubsub.listenerCount(channel) === 0);
  });

  it("holds nothing of connection_init's payload for the life of the socket", async () => {
    const opened: RawSocket[] = [];
    const held = await heapHeldBy(async () => {
      opened.push(await RawSocket.open(service, { padding: 'p'.repeat(8 * MiB) }));
    });

    expect(held).toBeLessThan(4 * MiB);
    for (const socket of opened) socket.close();
  });

  it.each(['connection_ack', 'next', 'error'])(
    'closes a socket that sends %s, a message only a server sends, with 4400 and logs no error',
    async (type) => {
      const errors = jest.spyOn(Logger.prototype, 'error');
      try {
        // Before connection_init: anyone who can open a socket can send it.
        const socket = await RawSocket.open(service, null);
        socket.send({ id: 'x', type, payload: type === 'error' ? [{ message: 'x' }] : {} });

        expect(await socket.closed).toEqual({
          code: 4400,
          reason: `Invalid message received: "${type}" is sent by servers only`,
        });
        expect(errors).not.toHaveBeenCalled();
      } finally {
        errors.mockRestore();
      }
    },
  );
});
