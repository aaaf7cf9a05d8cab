import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { SocketBackpressure } from './socket-backpressure';

const LIMIT = 64 * 1024;
/** Long beside STABLE_MS, so a fill's wait leaves the cases room on a loaded machine. */
const GRACE_MS = 1_000;
/**
 * How long a held send must stay held to count as held by a reader that stopped (see
 * fillUntilHeld). Loopback was seen letting such a send go up to 85 ms after it was held.
 */
const STABLE_MS = 200;
/** Larger than the limit; loopback and the kernel take a few MB before the socket holds any. */
const FRAME = 'x'.repeat(1024 * 1024);

/** Tracks whether a promise has settled, without awaiting it. */
function watch(promise: Promise<void>): { settled: () => boolean; promise: Promise<void> } {
  let settled = false;
  const tracked = promise.then(() => {
    settled = true;
  });
  return { settled: () => settled, promise: tracked };
}

async function settle(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Pair {
  /** The server's end, sending through the SocketBackpressure. */
  backpressure: SocketBackpressure;
  server: WebSocket;
  /** The reader. */
  client: WebSocket;
  lagging: () => number;
  received: () => number;
  closed: Promise<{ code: number; reason: string }>;
}

describe(SocketBackpressure.name, () => {
  let wss: WebSocketServer;
  let url: string;
  const open: WebSocket[] = [];

  beforeAll(async () => {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  });

  afterEach(() => {
    for (const socket of open.splice(0)) socket.terminate();
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  async function pair(graceMs = GRACE_MS): Promise<Pair> {
    const accepted = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const client = new WebSocket(url);
    let frames = 0;
    client.on('message', () => (frames += 1));
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      client.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    await new Promise((resolve) => client.once('open', resolve));
    const server = await accepted;
    open.push(client, server);
    let lagging = 0;
    const backpressure = new SocketBackpressure(server, {
      limit: LIMIT,
      graceMs,
      onLagging: () => {
        lagging += 1;
        server.close(1013, 'lagging');
      },
    });
    return {
      backpressure,
      server,
      client,
      lagging: () => lagging,
      received: () => frames,
      closed,
    };
  }

  /**
   * Sends frames to a reader that is not reading until a send has to wait, and still waits
   * STABLE_MS later; returns that send and when it began to wait (when the grace began).
   *
   * A send can be held for a moment while the kernel is still taking the frame in: once a
   * reader has read fast, loopback's buffers grow, and take megabytes more after it pauses,
   * as the reader's acknowledgements open the window. Such a send is let go soon after, and
   * the filling goes on until the kernel's buffers are full.
   */
  async function fillUntilHeld(
    backpressure: SocketBackpressure,
  ): Promise<ReturnType<typeof watch> & { since: number }> {
    for (let sent = 0; sent < 256; sent += 1) {
      const since = Date.now();
      const send = watch(backpressure.send(FRAME));
      await settle();
      while (!send.settled() && Date.now() - since < STABLE_MS) await sleep(5);
      if (!send.settled()) return { ...send, since };
    }
    throw new Error('the socket never held more than the limit');
  }

  /** Sleeps until `ms` after `since`. */
  async function sleepUntil(since: number, ms: number): Promise<void> {
    await sleep(Math.max(0, since + ms - Date.now()));
  }

  it('lets a sender go on at once while the socket holds no more than the limit', async () => {
    const { backpressure, received } = await pair();

    for (let sent = 0; sent < 20; sent += 1) {
      const send = watch(backpressure.send('small frame'));
      await settle();
      expect(send.settled()).toBe(true);
    }

    await sleep(50);
    expect(received()).toBe(20);
  });

  it('holds the sender while a reader that stopped reading leaves more than the limit unsent', async () => {
    const { backpressure, server, client, lagging } = await pair();
    client.pause();

    const held = await fillUntilHeld(backpressure);

    expect(backpressure.over).toBe(true);
    expect(server.bufferedAmount).toBeGreaterThan(LIMIT);
    expect(server.bufferedAmount).toBeLessThanOrEqual(LIMIT + FRAME.length + 64);
    client.resume();
    await held.promise;
    expect(backpressure.over).toBe(false);
    expect(lagging()).toBe(0);
  });

  it('reports a socket that stays over the limit for the grace, once, and lets its senders go', async () => {
    const { backpressure, client, lagging, received, closed } = await pair();
    client.pause();
    const held = await fillUntilHeld(backpressure);

    await sleepUntil(held.since, GRACE_MS / 2);
    expect(lagging()).toBe(0);
    await sleepUntil(held.since, GRACE_MS * 1.5);

    expect(lagging()).toBe(1);
    await held.promise;
    // Everything queued before the close frame still reaches a reader that resumes.
    const queued = received();
    client.resume();
    expect(await closed).toEqual({ code: 1013, reason: 'lagging' });
    expect(received()).toBeGreaterThan(queued);
    expect(lagging()).toBe(1);
  });

  it('does not report a reader that takes in one frame far larger than the limit', async () => {
    // The service's own grace: reading 32 MB in this same process takes a loaded machine
    // longer than the short grace of the other cases.
    const grace = 5_000;
    const { backpressure, lagging, received } = await pair(grace);

    const send = watch(backpressure.send('y'.repeat(32 * 1024 * 1024)));
    expect(backpressure.over).toBe(true);
    await send.promise;
    // The send is let go once the socket's buffer is below the limit; the reader may still be
    // taking in the frame's last bytes, which a loaded machine can stretch past any fixed wait.
    const deadline = Date.now() + grace;
    while (received() === 0 && Date.now() < deadline) await sleep(10);

    expect(received()).toBe(1);
    expect(lagging()).toBe(0);
    expect(backpressure.over).toBe(false);
  });

  it('does not report a reader that falls behind for less than the grace', async () => {
    // A grace three times the pause: a loaded machine may take a while to drain what was held.
    const grace = GRACE_MS * 3;
    const { backpressure, client, lagging } = await pair(grace);
    client.pause();
    const held = await fillUntilHeld(backpressure);

    await sleep(GRACE_MS);
    client.resume();
    await held.promise;
    await sleep(grace);

    expect(lagging()).toBe(0);
  });

  it('counts the grace from the last time the socket drained back to the limit', async () => {
    const { backpressure, client, lagging } = await pair();
    client.pause();
    const first = await fillUntilHeld(backpressure);
    await sleep(GRACE_MS / 2);
    client.resume();
    await first.promise;
    client.pause();
    const second = await fillUntilHeld(backpressure);

    // Over the limit after the first grace has ended, but only since it went over again: the
    // second fill began at least GRACE_MS / 2 after the first.
    await sleepUntil(second.since, GRACE_MS * 0.7);
    expect(backpressure.over).toBe(true);
    expect(lagging()).toBe(0);
    await sleepUntil(second.since, GRACE_MS * 1.3);
    expect(lagging()).toBe(1);
  });

  it('lets waiting senders go when the socket closes', async () => {
    const { backpressure, server, client } = await pair();
    client.pause();
    const held = await fillUntilHeld(backpressure);

    server.terminate();
    await held.promise;

    const after = watch(backpressure.send('late'));
    await settle();
    expect(after.settled()).toBe(true);
  });
});
