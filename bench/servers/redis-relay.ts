/**
 * The floor of the service's path for w3: the shortest way a message can go through this
 * architecture, and nothing else. A send is an HTTP POST to /graphql on Fastify (the service's
 * adapter); its target and content go to Redis in one script call that appends the content
 * to the target's list and publishes it; the subscriber connection hears the publication and
 * writes a graphql-ws `next` frame to the target's subscribers. No GraphQL execution (the
 * request's variables are read as they are and the answer is a constant), no authentication,
 * guards, ids, hash or index: client, server, Redis, server, receiver, the four hops every
 * message of the service takes to a live receiver.
 *
 * It speaks just enough of the graphql-transport-ws protocol for the bench's subscribers
 * (lib/live-feed.ts): connection_init, ping, subscribe with a `mailbox` variable, complete.
 */
import Fastify from 'fastify';
import Redis from 'ioredis';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { runAsChild } from '../lib/child-runtime';

/** Appends the content to the target's list and publishes it to the target's channel. */
const RELAY_SCRIPT =
  "redis.call('RPUSH', KEYS[1], ARGV[2]) return redis.call('PUBLISH', ARGV[1], ARGV[2])";
const PREFIX = 'bench:relay:';
const CHANNEL_PREFIX = `${PREFIX}feed:`;
const ANSWER = JSON.stringify({
  data: {
    sendMessage: { messageId: '01KBENCHRELAY0000000000000', status: 'QUEUED', recipients: 1 },
  },
});

interface SendBody {
  variables?: { in?: { target?: string; content?: string } };
}

interface ClientFrame {
  type?: string;
  id?: string;
  payload?: { variables?: { mailbox?: string } };
}

/** Each mailbox's subscriptions: the socket and the operation id to answer on. */
const feeds = new Map<string, Map<WebSocket, string>>();

function push(mailbox: string, content: string): void {
  const subscribers = feeds.get(mailbox);
  if (!subscribers) return;
  const message = { id: '01KBENCHRELAY0000000000000', sender: 'bench-sender', content };
  for (const [socket, id] of subscribers) {
    socket.send(
      JSON.stringify({ id, type: 'next', payload: { data: { mailboxMessages: message } } }),
    );
  }
}

function serveSocket(socket: WebSocket, subscriber: Redis): void {
  const own = new Map<string, string>(); // operation id -> mailbox
  socket.on('message', (data) => {
    const frame = JSON.parse((data as Buffer).toString()) as ClientFrame;
    if (frame.type === 'connection_init') socket.send('{"type":"connection_ack"}');
    else if (frame.type === 'ping') socket.send('{"type":"pong"}');
    else if (frame.type === 'subscribe' && frame.id) {
      const mailbox = frame.payload?.variables?.mailbox ?? '';
      const id = frame.id;
      own.set(id, mailbox);
      const subscribers = feeds.get(mailbox) ?? new Map<WebSocket, string>();
      feeds.set(mailbox, subscribers);
      subscribers.set(socket, id);
      void subscriber.subscribe(`${CHANNEL_PREFIX}${mailbox}`);
    } else if (frame.type === 'complete' && frame.id) {
      feeds.get(own.get(frame.id) ?? '')?.delete(socket);
      own.delete(frame.id);
    }
  });
  socket.on('close', () => {
    for (const mailbox of own.values()) feeds.get(mailbox)?.delete(socket);
  });
}

runAsChild<{ redisUrl: string }, { stopped: boolean }>(async ({ redisUrl }, parent) => {
  const commands = new Redis(redisUrl);
  const subscriber = new Redis(redisUrl);
  subscriber.on('message', (channel: string, content: string) =>
    push(channel.slice(CHANNEL_PREFIX.length), content),
  );
  const fastify = Fastify({ bodyLimit: 17 * 1024 * 1024 });
  fastify.post('/graphql', async (request, reply) => {
    const input = (request.body as SendBody).variables?.in ?? {};
    const target = input.target ?? '';
    await commands.eval(
      RELAY_SCRIPT,
      1,
      `${PREFIX}{${target}}:messages`,
      `${CHANNEL_PREFIX}${target}`,
      input.content ?? '',
    );
    return reply.type('application/json').send(ANSWER);
  });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const wss = new WebSocketServer({ server: fastify.server, path: '/graphql' });
  wss.on('connection', (socket) => serveSocket(socket, subscriber));
  const { port } = fastify.server.address() as AddressInfo;
  parent.send({ type: 'ready', port, pid: process.pid });
  await parent.next('stop');
  for (const client of wss.clients) client.terminate();
  wss.close();
  await fastify.close();
  await Promise.all([commands.quit(), subscriber.quit()]);
  return { stopped: true };
});
