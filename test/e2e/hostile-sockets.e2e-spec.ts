import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { GraphqlWsServer, LAG_GRACE_MS } from '../../src/graphql/graphql-ws.server';
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

interface Closed {
  code: number;
  reason: string;
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
});
