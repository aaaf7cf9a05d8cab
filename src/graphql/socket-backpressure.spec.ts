import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { SocketBackpressure } from './socket-backpressure';

const LIMIT = 64 * 1024;
const GRACE_MS = 300;
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

  /** Sends frames to a reader that is not reading until a send has to wait; returns that send. */
  async function fillUntilHeld(
    backpressure: SocketBackpressure,
  ): Promise<ReturnType<typeof watch>> {
    for (let sent = 0; sent < 256; sent += 1) {
      const send = watch(backpressure.send(FRAME));
      await settle();
      if (!send.settled()) return send;
    }
    throw new Error('the socket never held more than the limit');
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

    await sleep(GRACE_MS / 2);
    expect(lagging()).toBe(0);
    await sleep(GRACE_MS);

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
    // A grace ten times the pause: a loaded machine may take a while to drain what was held.
    const grace = GRACE_MS * 10;
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
    await fillUntilHeld(backpressure);

    // Over the limit when the first grace ends, but only since it went over again.
    await sleep(GRACE_MS * 0.7);
    expect(backpressure.over).toBe(true);
    expect(lagging()).toBe(0);
    await sleep(GRACE_MS * 0.6);
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
