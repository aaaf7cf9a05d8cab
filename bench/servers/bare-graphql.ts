/**
 * The baseline server: Apollo Server 5 on Express 5 (what a user would write by default) or on
 * Fastify 5 (what the service runs on) for HTTP, and graphql-ws for subscriptions, with no
 * NestJS and no Redis. `sendMessage` takes
 * the service's input type and answers a constant RouteResult; when the target mailbox has
 * subscribers it also pushes them a constant Message whose content echoes the input (the
 * content carries the sequence number that the load generator matches deliveries with).
 */
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from '@as-integrations/fastify';
import express from 'express';
import Fastify from 'fastify';
import {
  GraphQLBoolean,
  GraphQLEnumType,
  GraphQLID,
  GraphQLInputObjectType,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  GraphQLSchema,
  GraphQLString,
  valueFromASTUntyped,
  type GraphQLNullableType,
} from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { runAsChild } from '../lib/child-runtime';

const nonNull = <T extends GraphQLNullableType>(type: T): GraphQLNonNull<T> =>
  new GraphQLNonNull(type);

const AddressingMode = new GraphQLEnumType({
  name: 'AddressingMode',
  values: { BROADCAST: {}, DIRECT: {}, TOPIC: {} },
});
const MessagePriority = new GraphQLEnumType({
  name: 'MessagePriority',
  values: { HIGH: {}, LOW: {}, NORMAL: {}, URGENT: {} },
});
const RouteStatus = new GraphQLEnumType({
  name: 'RouteStatus',
  values: { FAILED: {}, PARTIAL: {}, QUEUED: {}, SUCCESS: {} },
});
const JsonScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => valueFromASTUntyped(ast, variables),
});

/** The same fields and types as the service's SendMessageInput (schema.gql). */
const SendMessageInput = new GraphQLInputObjectType({
  name: 'SendMessageInput',
  fields: {
    content: { type: nonNull(GraphQLString) },
    contentType: { type: GraphQLString },
    correlationId: { type: GraphQLString },
    idempotencyKey: { type: GraphQLString },
    metadata: { type: JsonScalar },
    mode: { type: nonNull(AddressingMode) },
    priority: { type: MessagePriority },
    replyTo: { type: GraphQLString },
    requireConfirmation: { type: GraphQLBoolean },
    sender: { type: nonNull(GraphQLString) },
    subject: { type: GraphQLString },
    target: { type: GraphQLString },
    threadId: { type: GraphQLString },
    ttlSeconds: { type: GraphQLInt },
  },
});

const RouteResult = new GraphQLObjectType({
  name: 'RouteResult',
  fields: {
    error: { type: GraphQLString },
    errorCode: { type: GraphQLString },
    messageId: { type: nonNull(GraphQLID) },
    recipients: { type: nonNull(GraphQLInt) },
    status: { type: nonNull(RouteStatus) },
  },
});

const Message = new GraphQLObjectType({
  name: 'Message',
  fields: {
    id: { type: nonNull(GraphQLID) },
    sender: { type: nonNull(GraphQLString) },
    mode: { type: nonNull(AddressingMode) },
    target: { type: GraphQLString },
    content: { type: nonNull(GraphQLString) },
    contentType: { type: nonNull(GraphQLString) },
    priority: { type: nonNull(MessagePriority) },
    createdAt: { type: nonNull(GraphQLString) },
    requireConfirmation: { type: nonNull(GraphQLBoolean) },
  },
});

interface Input {
  sender: string;
  target?: string | null;
  content: string;
}

interface MessageValue {
  id: string;
  sender: string;
  mode: string;
  target: string | null;
  content: string;
  contentType: string;
  priority: string;
  createdAt: string;
  requireConfirmation: boolean;
}

const CONSTANT_ID = '01KBENCHBASE11NE000000000';
const CONSTANT_RESULT = {
  messageId: CONSTANT_ID,
  status: 'QUEUED',
  recipients: 1,
  error: null,
  errorCode: null,
};
const CONSTANT_MESSAGE: MessageValue = {
  id: CONSTANT_ID,
  sender: 'bench-sender',
  mode: 'DIRECT',
  target: null,
  content: '',
  contentType: 'text/plain',
  priority: 'NORMAL',
  createdAt: '2026-01-01T00:00:00.000Z',
  requireConfirmation: false,
};

/** An unbounded push queue, as a subscription's async iterator. */
class Feed implements AsyncIterableIterator<MessageValue> {
  private readonly queue: MessageValue[] = [];
  private waiting: ((result: IteratorResult<MessageValue>) => void) | null = null;
  private done = false;

  constructor(private readonly onClose: () => void) {}

  push(value: MessageValue): void {
    if (this.done) return;
    const waiting = this.waiting;
    this.waiting = null;
    if (waiting) waiting({ value, done: false });
    else this.queue.push(value);
  }

  next(): Promise<IteratorResult<MessageValue>> {
    const value = this.queue.shift();
    if (value !== undefined) return Promise.resolve({ value, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<MessageValue>> {
    this.done = true;
    this.queue.length = 0;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = null;
    this.onClose();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<MessageValue> {
    return this;
  }
}

const feeds = new Map<string, Set<Feed>>();

function openFeed(mailbox: string): Feed {
  const set = feeds.get(mailbox) ?? new Set<Feed>();
  feeds.set(mailbox, set);
  const feed = new Feed(() => {
    set.delete(feed);
    if (set.size === 0) feeds.delete(mailbox);
  });
  set.add(feed);
  return feed;
}

function route(input: Input): typeof CONSTANT_RESULT {
  const subscribers = input.target ? feeds.get(input.target) : undefined;
  if (subscribers) {
    const message = { ...CONSTANT_MESSAGE, target: input.target ?? null, content: input.content };
    for (const feed of subscribers) feed.push(message);
  }
  return CONSTANT_RESULT;
}

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: { ok: { type: nonNull(GraphQLBoolean), resolve: () => true } },
  }),
  mutation: new GraphQLObjectType({
    name: 'Mutation',
    fields: {
      sendMessage: {
        type: nonNull(RouteResult),
        args: { input: { type: nonNull(SendMessageInput) } },
        resolve: (_root, args: { input: Input }) => route(args.input),
      },
      sendMessages: {
        type: nonNull(new GraphQLList(nonNull(RouteResult))),
        args: { inputs: { type: nonNull(new GraphQLList(nonNull(SendMessageInput))) } },
        resolve: (_root, args: { inputs: Input[] }) => args.inputs.map(route),
      },
    },
  }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      mailboxMessages: {
        type: nonNull(Message),
        args: { mailbox: { type: nonNull(GraphQLString) }, after: { type: GraphQLID } },
        subscribe: (_root, args: { mailbox: string }) => openFeed(args.mailbox),
        resolve: (message: MessageValue) => message,
      },
    },
  }),
});

export type BarePlatform = 'express' | 'fastify';

/** Apollo on the platform asked for; the HTTP server it listens with. */
async function serveHttp(
  platform: BarePlatform,
): Promise<{ httpServer: Server; apollo: ApolloServer; close: () => Promise<void> }> {
  if (platform === 'express') {
    const apollo = new ApolloServer({ schema });
    await apollo.start();
    const app = express();
    app.use('/graphql', express.json({ limit: '17mb' }), expressMiddleware(apollo));
    const httpServer = createServer(app);
    await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
    return {
      httpServer,
      apollo,
      close: async () => {
        httpServer.closeAllConnections();
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      },
    };
  }
  const fastify = Fastify({ bodyLimit: 17 * 1024 * 1024 });
  const apollo = new ApolloServer({ schema, plugins: [fastifyApolloDrainPlugin(fastify)] });
  await apollo.start();
  fastify.route({
    url: '/graphql',
    method: ['GET', 'POST', 'OPTIONS'],
    handler: fastifyApolloHandler(apollo),
  });
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  return { httpServer: fastify.server, apollo, close: () => fastify.close() };
}

runAsChild<{ platform?: BarePlatform }, { stopped: boolean }>(async (payload, parent) => {
  const { httpServer, apollo, close } = await serveHttp(payload.platform ?? 'express');
  const wss = new WebSocketServer({ server: httpServer, path: '/graphql' });
  const graphqlWs = useServer({ schema }, wss);
  const { port } = httpServer.address() as AddressInfo;
  parent.send({ type: 'ready', port, pid: process.pid });
  await parent.next('stop');
  for (const client of wss.clients) client.terminate();
  await graphqlWs.dispose();
  await apollo.stop();
  await close();
  return { stopped: true };
});
