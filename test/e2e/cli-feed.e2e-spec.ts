import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { LiveFeed } from '../../src/cli/live-feed';
import { UnreachableError } from '../../src/cli/cli.errors';
import { mailboxFeed } from '../../src/cli/mailbox-api';
import { graphqlOk } from '../utils/graphql-client';
import { RedisServer } from '../utils/redis-server';
import { startTestApp, type TestApp } from '../utils/test-app';

const KEEP_ALIVE_MS = 300;
const REGISTER = `mutation ($name: String!) { registerMailbox(name: $name) { token } }`;
const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { messageId } }`;

/** What a feed's `next` threw, or null when it handed out `null` or a message instead. */
async function failureOf(feed: LiveFeed): Promise<unknown> {
  try {
    await feed.next(Date.now() + 10_000);
    return null;
  } catch (error) {
    return error;
  } finally {
    await feed.close();
  }
}

function urlOf(server: Server | WebSocketServer): string {
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

describe("the CLI's live feed on a connection that goes quiet", () => {
  const servers: { close(callback: () => void): unknown }[] = [];
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const server of servers.splice(0))
      await new Promise<void>((done) => server.close(() => done()));
  });

  /**
   * A graphql-ws peer that acknowledges the connection and the subscription, then says
   * nothing more: not a Pong, not a close, as a host that vanished behind a live route.
   */
  async function silentAfterAck(): Promise<string> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    servers.push(wss);
    wss.on('connection', (socket) => {
      socket.on('message', (data) => {
        const message = JSON.parse((data as Buffer).toString()) as { type: string };
        if (message.type === 'connection_init') {
          socket.send(JSON.stringify({ type: 'connection_ack' }));
        }
      });
    });
    await new Promise((listening) => wss.on('listening', listening));
    return urlOf(wss);
  }

  it('fails with "no answer to a ping" when the service stops answering', async () => {
    const url = await silentAfterAck();
    const feed = new LiveFeed(url, null, mailboxFeed('quiet', null), KEEP_ALIVE_MS);
    const started = Date.now();
    const failure = await failureOf(feed);
    expect(failure).toBeInstanceOf(UnreachableError);
    expect((failure as Error).message).toBe(
      `lost the connection to ${url}: no answer to a ping within ${KEEP_ALIVE_MS / 1000} s`,
    );
    // A ping after one interval, the cut one interval later: well before next's 10 s.
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('fails when the service accepts the connection but never acknowledges it', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    servers.push(wss);
    await new Promise((listening) => wss.on('listening', listening));
    const url = urlOf(wss);
    const feed = new LiveFeed(url, null, mailboxFeed('quiet', null), KEEP_ALIVE_MS);
    const failure = await failureOf(feed);
    expect(failure).toBeInstanceOf(UnreachableError);
    expect((failure as Error).message).toBe(
      `lost the connection to ${url}: the service did not acknowledge the connection`,
    );
    await expect(feed.connected).resolves.toBe(false);
  });

  it('fails when the WebSocket handshake never completes', async () => {
    // Takes the TCP connection and never answers the upgrade request.
    const server = createServer((socket) => sockets.push(socket));
    servers.push(server);
    await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
    const url = urlOf(server);
    const feed = new LiveFeed(url, null, mailboxFeed('quiet', null), KEEP_ALIVE_MS);
    const failure = await failureOf(feed);
    expect(failure).toBeInstanceOf(UnreachableError);
    expect((failure as Error).message).toContain(url);
  });

  describe('against the service', () => {
    let redis: RedisServer;
    let service: TestApp;

    beforeAll(async () => {
      redis = await RedisServer.start();
      service = await startTestApp(redis.url);
      for (const name of ['pinger', 'pinged']) {
        await graphqlOk(service.baseUrl, REGISTER, { name });
      }
    });

    afterAll(async () => {
      await service?.close();
      await redis?.destroy();
    });

    it('stays open across many pings, which the service answers, and hands out what arrives', async () => {
      const url = service.baseUrl.replace(/^http/, 'ws') + '/graphql';
      const feed = new LiveFeed(url, null, mailboxFeed('pinged', null), KEEP_ALIVE_MS);
      try {
        await expect(feed.connected).resolves.toBe(true);
        // Ten intervals: ten pings, each of which would have cut the feed unanswered.
        await expect(feed.next(Date.now() + 10 * KEEP_ALIVE_MS)).resolves.toBeNull();
        const { sendMessage } = await graphqlOk<{ sendMessage: { messageId: string } }>(
          service.baseUrl,
          SEND,
          { input: { sender: 'pinger', mode: 'DIRECT', target: 'pinged', content: 'still here' } },
        );
        const message = await feed.next(Date.now() + 5_000);
        expect(message?.id).toBe(sendMessage.messageId);
      } finally {
        await feed.close();
      }
    });
  });
});
