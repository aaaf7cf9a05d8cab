import type { Client } from 'graphql-ws';
import type { Redis } from 'ioredis';
import { directInput } from '../factories/messages';
import {
  connectWs,
  eventually,
  graphql,
  LiveSubscription,
  type GraphqlError,
} from '../utils/graphql-client';
import { REGISTER, SEND, type RouteView } from '../utils/documents';
import { startRedisBackend, testTopology, type RedisBackend } from '../utils/redis-backend';
import { RedisServer } from '../utils/redis-server';
import { mailboxChannel, subscriberCount, waitForListeners } from '../utils/service';
import { ServiceProcess } from '../utils/service-process';
import { startTestService, uniquePrefix, type TestApp } from '../utils/test-app';

const ADMIN = 'admin-token-for-tests-0123456789';

const FIELDS = 'messageId mailbox status waitingForSubscriber attempts { number }';
const CHANGES = `subscription Changes($id: ID!) { deliveryStatusChanged(messageId: $id) { ${FIELDS} } }`;
const MINE = `subscription Mine { myDeliveries { ${FIELDS} } }`;
const THEIRS = `subscription Theirs($sender: String) { myDeliveries(sender: $sender) { ${FIELDS} } }`;
const FEED = 'subscription Feed($mailbox: String!) { mailboxMessages(mailbox: $mailbox) { id } }';
const CONFIRM = `
  mutation Confirm($mailbox: String!, $id: ID!) {
    confirmDelivery(mailbox: $mailbox, messageId: $id) { status }
  }`;

interface Change {
  messageId: string;
  mailbox: string;
  status: string;
  waitingForSubscriber: boolean;
  attempts: Array<{ number: number }>;
}

/** `mailbox status [attempt numbers]`: one line per change, to compare whole sequences. */
const line = (change: Change): string =>
  `${change.mailbox} ${change.status} [${change.attempts.map((a) => a.number).join(',')}]`;

const as = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Registers the mailboxes with the admin token; their tokens by name. */
async function register(baseUrl: string, ...names: string[]): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {};
  for (const name of names) {
    const response = await graphql<{ registerMailbox: { token: string } }>(
      baseUrl,
      REGISTER,
      { name },
      as(ADMIN),
    );
    if (!response.data) throw new Error(`register ${name}: ${JSON.stringify(response.errors)}`);
    tokens[name] = response.data.registerMailbox.token;
  }
  return tokens;
}

async function sendAs(baseUrl: string, token: string, from: string, to: string): Promise<string> {
  const response = await graphql<{ sendMessage: RouteView }>(
    baseUrl,
    SEND,
    { input: directInput(from, to, { requireConfirmation: true }) },
    as(token),
  );
  if (!response.data) throw new Error(`send: ${JSON.stringify(response.errors)}`);
  return response.data.sendMessage.messageId;
}

async function confirmAs(baseUrl: string, token: string, mailbox: string, id: string) {
  const response = await graphql<{ confirmDelivery: { status: string } }>(
    baseUrl,
    CONFIRM,
    { mailbox, id },
    as(token),
  );
  expect(response.data?.confirmDelivery.status).toBe('DELIVERED');
}

const changesOf = (ws: Client, id: string): LiveSubscription<Change> =>
  new LiveSubscription<Change>(ws, CHANGES, { id }, (data) => data.deliveryStatusChanged as Change);

/** Long enough for a stray duplicate or a foreign event to arrive before counting. */
const quiet = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 700));

describe(`watching deliveries (${testTopology()})`, () => {
  let backend: RedisBackend;
  let service: TestApp;
  let tokens: Record<string, string>;
  const sockets: Client[] = [];

  const socket = async (token: string): Promise<Client> => {
    const ws = await connectWs(service.wsUrl, { authorization: `Bearer ${token}` });
    sockets.push(ws);
    return ws;
  };

  /** A live feed of the mailbox, set up before this returns. */
  const online = async (mailbox: string): Promise<LiveSubscription<{ id: string }>> => {
    const feed = new LiveSubscription<{ id: string }>(
      await socket(tokens[mailbox]),
      FEED,
      { mailbox },
      (data) => data.mailboxMessages as { id: string },
    );
    await waitForListeners(service, mailboxChannel(service, mailbox), 1);
    return feed;
  };

  beforeAll(async () => {
    backend = await startRedisBackend();
    service = await startTestService(backend, {
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      RATE_LIMIT_PER_MINUTE: '100000',
      // No retry gets in the way of the sequences below.
      ROUTER_BASE_RETRY_DELAY: '60',
      ROUTER_MAX_RETRY_DELAY: '60',
    });
    tokens = await register(service.baseUrl, 'planner', 'worker', 'helper', 'intruder');
  });

  afterAll(async () => {
    for (const ws of sockets) await ws.dispose();
    await service.close();
    await backend.destroy();
  });

  it('tells a planner that subscribes late of the confirmation the worker made first', async () => {
    const worker = await online('worker');
    const id = await sendAs(service.baseUrl, tokens.planner, 'planner', 'worker');
    await worker.waitFor(1);
    await confirmAs(service.baseUrl, tokens.worker, 'worker', id);

    const changes = changesOf(await socket(tokens.planner), id);
    const [first] = await changes.waitFor(1);
    expect(first).toMatchObject({ messageId: id, mailbox: 'worker', status: 'DELIVERED' });
    expect(line(first)).toBe('worker DELIVERED [1]');
    await quiet();
    expect(changes.values).toHaveLength(1);
    worker.unsubscribe();
  });

  it('tells the state first, then every change, none twice', async () => {
    const mine = new LiveSubscription<Change>(
      await socket(tokens.planner),
      MINE,
      {},
      (data) => data.myDeliveries as Change,
    );
    await waitForListeners(service, `${service.prefix}mailbox:{planner}:deliveries`, 1);
    const id = await sendAs(service.baseUrl, tokens.planner, 'planner', 'helper');
    const changes = changesOf(await socket(tokens.planner), id);
    const [first] = await changes.waitFor(1);
    expect(first).toMatchObject({ status: 'PENDING', waitingForSubscriber: true, attempts: [] });

    await waitForListeners(service, `${service.prefix}delivery_confirmation:{${id}}:events`, 1);
    const helper = await online('helper');
    await helper.waitFor(1);
    await eventually(() => changes.values.length >= 2, 10_000);
    await confirmAs(service.baseUrl, tokens.helper, 'helper', id);
    await changes.waitFor(3);
    await quiet();
    expect(changes.values.map(line)).toEqual([
      'helper PENDING []',
      'helper PENDING [1]',
      'helper DELIVERED [1]',
    ]);
    // The sender's own stream has the changes, not the state the message started in.
    expect(mine.values.map((change) => change.messageId)).toEqual([id, id]);
    expect(mine.values.map(line)).toEqual(['helper PENDING [1]', 'helper DELIVERED [1]']);
    mine.unsubscribe();
    helper.unsubscribe();
  });

  it("refuses a mailbox token another sender's deliveries, and the admin a stream of everything", async () => {
    const id = await sendAs(service.baseUrl, tokens.planner, 'planner', 'worker');
    const intruder = await socket(tokens.intruder);
    const code = async (subscription: LiveSubscription<unknown>): Promise<unknown> => {
      await subscription.waitForEnd();
      return (subscription.errors[0] as GraphqlError).extensions;
    };

    const theirs = new LiveSubscription(intruder, THEIRS, { sender: 'planner' }, (data) => data);
    expect(await code(theirs)).toMatchObject({ code: 'FORBIDDEN', field: 'sender' });
    const message = new LiveSubscription(intruder, CHANGES, { id }, (data) => data);
    expect(await code(message)).toMatchObject({ code: 'FORBIDDEN', field: 'messageId' });

    const admin = await socket(ADMIN);
    const everything = new LiveSubscription(admin, MINE, {}, (data) => data);
    expect(await code(everything)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sender' });
    const nobody = new LiveSubscription(admin, THEIRS, { sender: 'nobody' }, (data) => data);
    expect(await code(nobody)).toMatchObject({ code: 'NOT_FOUND', field: 'sender' });
    const bad = new LiveSubscription(admin, THEIRS, { sender: 'no*glob' }, (data) => data);
    expect(await code(bad)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'sender' });
  });
});

describe('myDeliveries with two service processes on one Redis', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let prefix: string;
  let tokens: Record<string, string>;
  const sockets: Client[] = [];

  const socket = async (service: ServiceProcess, token: string): Promise<Client> => {
    const ws = await connectWs(service.wsUrl, { authorization: `Bearer ${token}` });
    sockets.push(ws);
    return ws;
  };
  /** Until `count` instances are subscribed to the channel. */
  const subscribed = (channel: string, count = 1): Promise<void> =>
    eventually(async () => (await subscriberCount(redis, `${prefix}${channel}`)) === count, 10_000);

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    prefix = uniquePrefix();
    const environment = {
      REDIS_URL: redisServer.url,
      REDIS_KEY_PREFIX: prefix,
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      RATE_LIMIT_PER_MINUTE: '100000',
      ROUTER_BASE_RETRY_DELAY: '60',
      ROUTER_MAX_RETRY_DELAY: '60',
    };
    [a, b] = await Promise.all([
      ServiceProcess.start(environment),
      ServiceProcess.start(environment),
    ]);
    tokens = await register(a.baseUrl, 'planner', 'other', 'worker');
  });

  afterAll(async () => {
    for (const ws of sockets) await ws.dispose();
    await Promise.all([a?.stop(), b?.stop()]);
    await redis.quit();
    await redisServer.destroy();
  });

  it('tells each sender the changes of its own messages only, whichever instance made them', async () => {
    const pick = (data: Record<string, unknown>): Change => data.myDeliveries as Change;
    const planner = new LiveSubscription(await socket(b, tokens.planner), MINE, {}, pick);
    const other = new LiveSubscription(await socket(a, tokens.other), MINE, {}, pick);
    const operator = new LiveSubscription(
      await socket(a, ADMIN),
      THEIRS,
      { sender: 'planner' },
      pick,
    );
    const worker = new LiveSubscription(
      await socket(a, tokens.worker),
      FEED,
      { mailbox: 'worker' },
      (data) => data.mailboxMessages as { id: string },
    );
    // Planner's channel on both instances: planner's own subscription on B, the operator's on A.
    await subscribed('mailbox:{planner}:deliveries', 2);
    await subscribed('mailbox:{other}:deliveries');
    await subscribed('mailbox:{worker}:feed');

    // Sent through A, confirmed through B, and the other way round.
    const mine = await sendAs(a.baseUrl, tokens.planner, 'planner', 'worker');
    const theirs = await sendAs(b.baseUrl, tokens.other, 'other', 'worker');
    await worker.waitFor(2);
    await confirmAs(b.baseUrl, tokens.worker, 'worker', mine);
    await confirmAs(a.baseUrl, tokens.worker, 'worker', theirs);

    await planner.waitFor(2);
    await other.waitFor(2);
    await operator.waitFor(2);
    await quiet();
    expect(planner.values.map((change) => change.messageId)).toEqual([mine, mine]);
    expect(planner.values.map(line)).toEqual(['worker PENDING [1]', 'worker DELIVERED [1]']);
    expect(other.values.map((change) => change.messageId)).toEqual([theirs, theirs]);
    expect(other.values.map(line)).toEqual(['worker PENDING [1]', 'worker DELIVERED [1]']);
    expect(operator.values).toEqual(planner.values);
  });
});
