import { Cluster, type Redis } from 'ioredis';
import type { Client } from 'graphql-ws';
import { RedisKeys } from '../../src/redis/redis-keys';
import { RedisPubSubService } from '../../src/redis/redis-pubsub.service';
import { graphqlOk, LiveSubscription, eventually } from './graphql-client';
import {
  MAILBOX_FEED,
  REGISTER,
  SEND,
  TOPIC_FEED,
  type MessageView,
  type RouteView,
} from './documents';
import type { TestApp } from './test-app';
import type { SendInput } from '../factories/messages';

/** Registers mailboxes over HTTP and returns their tokens by name. */
export async function registerMailboxes(
  baseUrl: string,
  ...names: string[]
): Promise<Record<string, string>> {
  return registerMailboxesAs(baseUrl, null, ...names);
}

/** registerMailboxes, with the admin token where auth is on (null: none sent). */
export async function registerMailboxesAs(
  baseUrl: string,
  adminToken: string | null,
  ...names: string[]
): Promise<Record<string, string>> {
  const headers: Record<string, string> =
    adminToken === null ? {} : { authorization: `Bearer ${adminToken}` };
  const tokens: Record<string, string> = {};
  for (const name of names) {
    const data = await graphqlOk<{ registerMailbox: { token: string } }>(
      baseUrl,
      REGISTER,
      { name },
      headers,
    );
    tokens[name] = data.registerMailbox.token;
  }
  return tokens;
}

export async function send(baseUrl: string, input: SendInput): Promise<RouteView> {
  return (await graphqlOk<{ sendMessage: RouteView }>(baseUrl, SEND, { input })).sendMessage;
}

/** The client itself, or every node of a Cluster (once the client knows them). */
async function nodesOf(redis: Redis | Cluster, role: 'all' | 'master'): Promise<Redis[]> {
  if (!(redis instanceof Cluster)) return [redis];
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  return redis.nodes(role);
}

/**
 * Subscribers of a channel, counted by Redis itself: plain and sharded subscriptions, on every
 * primary of a Cluster (each node counts the connections it holds).
 */
export async function subscriberCount(redis: Redis | Cluster, channel: string): Promise<number> {
  const nodes = await nodesOf(redis, 'all');
  const replies = await Promise.all(
    nodes.flatMap((node) => [
      node.call('PUBSUB', 'NUMSUB', channel),
      node.call('PUBSUB', 'SHARDNUMSUB', channel),
    ]),
  );
  // Each node counts the subscribers connected to it.
  return replies.reduce<number>(
    (sum, reply) => sum + Number((reply as Array<string | number>)[1]),
    0,
  );
}

/** The app's own channel names: its prefix, and its database where that is not 0. */
export function mailboxChannel(app: TestApp, mailbox: string): string {
  return app.app.get(RedisKeys).mailboxFeed(mailbox);
}

export function topicChannel(app: TestApp): string {
  return app.app.get(RedisKeys).topicFeed();
}

/** Waits until the service holds `count` local listeners on `channel` (subscriptions set up). */
export async function waitForListeners(
  app: TestApp,
  channel: string,
  count: number,
): Promise<void> {
  const pubsub = app.app.get(RedisPubSubService);
  await eventually(() => pubsub.listenerCount(channel) >= count);
  // A listener counts from the moment it asks; what is published before Redis confirms the
  // subscription (on Cluster, a new shard subscriber connection first) does not reach it.
  await pubsub.subscribed(channel);
}

/**
 * Subscribes to a mailbox feed over the WebSocket and waits until the service has set it
 * up, so that what the test sends next is live for it.
 */
export async function subscribeMailbox(
  app: TestApp,
  client: Client,
  mailbox: string,
  after?: string,
): Promise<LiveSubscription<MessageView>> {
  const channel = mailboxChannel(app, mailbox);
  const before = app.app.get(RedisPubSubService).listenerCount(channel);
  const subscription = new LiveSubscription<MessageView>(
    client,
    MAILBOX_FEED,
    after === undefined ? { mailbox } : { mailbox, after },
    (data) => data.mailboxMessages as MessageView,
  );
  await waitForListeners(app, channel, before + 1);
  return subscription;
}

export type TopicView = Pick<MessageView, 'id' | 'target' | 'content'>;

export async function subscribeTopic(
  app: TestApp,
  client: Client,
  pattern: string,
): Promise<LiveSubscription<TopicView>> {
  const channel = topicChannel(app);
  const before = app.app.get(RedisPubSubService).listenerCount(channel);
  const subscription = new LiveSubscription<TopicView>(
    client,
    TOPIC_FEED,
    { pattern },
    (data) => data.topicMessages as TopicView,
  );
  await waitForListeners(app, channel, before + 1);
  return subscription;
}

/** Every key under the prefix (on every primary of a Cluster), for checks that nothing unexpected was written. */
export async function keysUnder(redis: Redis | Cluster, prefix: string): Promise<string[]> {
  // The prefix is matched literally: glob characters in it are escaped.
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  const keys: string[] = [];
  for (const node of await nodesOf(redis, 'master')) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys;
}

const NAME = '[A-Za-z0-9][A-Za-z0-9_.-]{0,127}';
const ID = '[0-9A-HJKMNP-TV-Z]{26}';
const TOPIC = '[A-Za-z0-9_-]{1,64}(\\.[A-Za-z0-9_-]{1,64}){0,15}';

/** Every key name of the documented layout (docs/reference/redis-layout.md), after the prefix. */
export const DOCUMENTED_KEY = new RegExp(
  [
    `message:\\{${ID}\\}`,
    `message:\\{${ID}\\}:recipients`,
    `delivery_confirmation:\\{${ID}\\}`,
    `mailbox:\\{${NAME}\\}:(messages|metadata|pending|dead_letters|dead_letter_index|read)`,
    `topic:\\{${TOPIC}\\}:(messages|metadata|arrivals)`,
    'mailboxes:\\{index\\}:(all|active|seen|deleting|paused)',
    'threads:\\{index\\}:paused',
    'topics:\\{index\\}:(all|names|arrivals)',
    'requests:\\{schedule\\}:deadlines',
    'thread:\\{[0-9a-f]{64}\\}:messages',
    'dead_letters:\\{index\\}:all',
    'delivery:\\{schedule\\}:(URGENT|HIGH|NORMAL|LOW)',
    'expiry:\\{schedule\\}:(messages|lock|retention_cursor|topic_retention_cursor)',
    'stats:\\{router\\}:counters',
    `idempotency:\\{${NAME}\\}:[0-9a-f]{64}`,
    `mailbox:\\{${NAME}\\}:search:[^\\s{}:|*?\\[\\]]{1,64}`,
    `mailbox:\\{${NAME}\\}:(search-terms|wait|idempotency_keys)`,
    `mailbox:\\{${NAME}\\}:pair:${NAME}`,
    `mailbox:\\{${NAME}\\}:dup:[0-9a-f]{64}`,
    `mailbox:\\{${NAME}\\}:tokens:\\d{4}-\\d{2}-\\d{2}`,
    'thread:\\{[0-9a-f]{64}\\}:guard',
    'signing:\\{keys\\}:(current|secrets)',
  ]
    .map((pattern) => `(${pattern})`)
    .join('|')
    .replace(/^/, '^(')
    .concat(')$'),
);
