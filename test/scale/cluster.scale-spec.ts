import type { Client } from 'graphql-ws';
import { broadcastInput, directInput, topicInput } from '../factories/messages';
import {
  MAILBOX_FEED,
  REGISTER,
  SEND,
  SEND_MANY,
  TOPIC_FEED,
  type MessageView,
} from '../utils/documents';
import { mailboxIds, sendLoad, waitForEmptyOutageQueue } from '../utils/fault-helpers';
import {
  connectWs,
  eventually,
  graphql,
  graphqlOk,
  LiveSubscription,
} from '../utils/graphql-client';
import { ClusterBackend } from '../utils/redis-backend';
import { nodeCommand } from '../utils/redis-cluster';
import { keysUnder, registerMailboxes, send } from '../utils/service';
import { ServiceProcess } from '../utils/service-process';
import { uniquePrefix } from '../utils/test-app';

type Pushed = Pick<MessageView, 'id' | 'content'>;

async function metric(service: ServiceProcess, name: string): Promise<number> {
  const text = await (await fetch(`${service.baseUrl}/metrics`)).text();
  const line = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return line ? Number(line[1]) : NaN;
}

/** A live mailbox feed on `ws`, once the instance has its Redis subscription in place. */
async function feedOf(
  service: ServiceProcess,
  ws: Client,
  mailbox: string,
  channelsBefore: number,
): Promise<LiveSubscription<Pushed>> {
  const feed = new LiveSubscription<Pushed>(
    ws,
    MAILBOX_FEED,
    { mailbox },
    (data) => data.mailboxMessages as Pushed,
  );
  await eventually(
    async () => (await metric(service, 'mailbox_subscribed_channels')) > channelsBefore,
  );
  return feed;
}

/** Moves one slot from its primary to another, key by key, as `redis-cli --cluster reshard` does. */
async function migrateSlot(slot: number, from: number, to: number, ports: number[]): Promise<void> {
  const fromId = String(await nodeCommand(from, 'CLUSTER', 'MYID'));
  const toId = String(await nodeCommand(to, 'CLUSTER', 'MYID'));
  await nodeCommand(to, 'CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', fromId);
  await nodeCommand(from, 'CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', toId);
  for (;;) {
    const keys = (await nodeCommand(
      from,
      'CLUSTER',
      'GETKEYSINSLOT',
      String(slot),
      '50',
    )) as string[];
    if (keys.length === 0) break;
    await nodeCommand(from, 'MIGRATE', '127.0.0.1', String(to), '', '0', '5000', 'KEYS', ...keys);
    // Sends keep arriving between the batches, redirected with ASK.
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  for (const port of [to, from, ...ports.filter((port) => port !== to && port !== from)])
    await nodeCommand(port, 'CLUSTER', 'SETSLOT', String(slot), 'NODE', toId);
}

describe('three-primary Redis Cluster with two instances', () => {
  let backend: ClusterBackend;
  let services: ServiceProcess[] = [];
  let prefix: string;
  let ws: Client;

  beforeAll(async () => {
    // AOF fsynced on every write: a primary killed with SIGKILL keeps what it acknowledged.
    backend = await ClusterBackend.start({ primaries: 3, appendonly: true });
    prefix = uniquePrefix();
    const environment = {
      ...backend.environment,
      REDIS_KEY_PREFIX: prefix,
      REDIS_COMMAND_TIMEOUT: '1',
      RATE_LIMIT_PER_MINUTE: '100000',
      ROUTER_BASE_RETRY_DELAY: '0.3',
      ROUTER_RETRY_CHECK_INTERVAL: '0.1',
      ROUTER_RETRY_JITTER: 'false',
    };
    services = await Promise.all([
      ServiceProcess.start(environment),
      ServiceProcess.start(environment),
    ]);
    ws = await connectWs(services[1].wsUrl);
  }, 60_000);

  afterAll(async () => {
    await ws?.dispose();
    await Promise.all(services.map((service) => service.stop()));
    await backend?.destroy();
  });

  afterEach(() => {
    const logs = services.map((service) => service.output.join('')).join('');
    expect(logs).not.toMatch(/CROSSSLOT/);
  });

  it('routes DIRECT, BROADCAST and TOPIC across instances, resumes from a cursor and retries once per attempt', async () => {
    const [http] = services;
    await registerMailboxes(http.baseUrl, 'ann', 'ben', 'cat');
    const channels = await metric(services[1], 'mailbox_subscribed_channels');
    const ben = await feedOf(services[1], ws, 'ben', channels);
    const cat = await feedOf(services[1], ws, 'cat', channels + 1);

    const direct = await send(http.baseUrl, directInput('ann', 'ben', { content: 'direct' }));
    expect(direct.status).toBe('SUCCESS');
    expect((await ben.waitFor(1)).map((message) => message.content)).toEqual(['direct']);

    const broadcast = await send(http.baseUrl, broadcastInput('ann', { content: 'all' }));
    expect(broadcast).toMatchObject({ status: 'SUCCESS', recipients: 2 });
    expect((await ben.waitFor(2))[1].id).toBe(broadcast.messageId);
    expect((await cat.waitFor(1))[0].id).toBe(broadcast.messageId);

    const topics = new LiveSubscription<Pushed>(
      ws,
      TOPIC_FEED,
      { pattern: 'agents.*.status' },
      (data) => data.topicMessages as Pushed,
    );
    await eventually(
      async () => (await metric(services[1], 'mailbox_subscribed_channels')) >= channels + 3,
    );
    const topic = await send(http.baseUrl, topicInput('ann', 'agents.planner.status'));
    expect((await topics.waitFor(1))[0].id).toBe(topic.messageId);

    // Resume: 30 messages while dan is offline, then a feed from the 10th.
    await registerMailboxes(http.baseUrl, 'dan');
    const backlog = await sendLoad(http.baseUrl, 'ann', 'dan', 30, 4);
    const ids = (await mailboxIds(http.baseUrl, 'dan')).map((message) => message.id);
    expect(ids).toHaveLength(30);
    expect(new Set(ids)).toEqual(new Set(backlog.map((outcome) => outcome.messageId)));
    const resumed = new LiveSubscription<Pushed>(
      ws,
      MAILBOX_FEED,
      { mailbox: 'dan', after: ids[9] },
      (data) => data.mailboxMessages as Pushed,
    );
    expect((await resumed.waitFor(20)).map((message) => message.id)).toEqual(ids.slice(10));

    // Retry: ben never confirms; both instances run the retry job, each attempt is pushed once.
    const tracked = await send(
      http.baseUrl,
      directInput('ann', 'ben', { content: 'confirm me', requireConfirmation: true }),
    );
    await eventually(
      () => ben.values.filter((m) => m.id === tracked.messageId).length >= 3,
      10_000,
    );
    const attempts = (
      ben.values.filter((m) => m.id === tracked.messageId) as unknown as Array<{
        deliveryAttempt: number;
      }>
    ).map((m) => m.deliveryAttempt);
    expect(attempts.slice(0, 3)).toEqual([1, 2, 3]);
    for (const feed of [ben, cat, topics, resumed]) {
      expect(feed.errors).toEqual([]);
      feed.unsubscribe();
    }
  }, 60_000);

  it("checks mailbox tokens and charges their rate limit on the mailbox's own slot", async () => {
    const admin = { authorization: 'Bearer admin-token-for-cluster-tests-0123' };
    const guarded = await ServiceProcess.start({
      ...backend.environment,
      REDIS_KEY_PREFIX: uniquePrefix(),
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: admin.authorization.slice('Bearer '.length),
      RATE_LIMIT_PER_MINUTE: '5',
    });
    try {
      const tokens: Record<string, string> = {};
      // ann, gus and eve hash to slots 2326, 10147 and 11879: one on each primary.
      for (const name of ['ann', 'gus', 'eve', 'dan']) {
        const registered = await graphqlOk<{ registerMailbox: { token: string } }>(
          guarded.baseUrl,
          REGISTER,
          { name },
          admin,
        );
        tokens[name] = registered.registerMailbox.token;
      }
      const sendAs = (sender: string, token: string) =>
        graphql<{ sendMessage: { messageId: string } }>(
          guarded.baseUrl,
          SEND,
          { input: { ...directInput(sender, 'dan'), sender: undefined } },
          { authorization: `Bearer ${token}` },
        );
      for (const sender of ['ann', 'gus', 'eve']) {
        const forged = `${tokens[sender].slice(0, tokens[sender].indexOf('.'))}.${'x'.repeat(43)}`;
        const refused = await Promise.all(Array.from({ length: 5 }, () => sendAs(sender, forged)));
        for (const answer of refused) {
          expect(answer.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
        }
        // The forged token charged nothing: the owner has its five, then the limit.
        const answers = await Promise.all(
          Array.from({ length: 6 }, () => sendAs(sender, tokens[sender])),
        );
        const allowed = answers.filter((answer) => answer.data?.sendMessage?.messageId);
        const limited = answers.filter(
          (answer) => answer.errors?.[0].extensions?.code === 'RATE_LIMITED',
        );
        expect([allowed.length, limited.length]).toEqual([5, 1]);
      }
    } finally {
      await guarded.stop();
    }
  }, 60_000);

  it('spreads 1,000 mailboxes over all three primaries', async () => {
    const [http] = services;
    const names = Array.from({ length: 1_000 }, (_, i) => `spread-${i}`);
    for (let i = 0; i < names.length; i += 50)
      await Promise.all(
        names.slice(i, i + 50).map((name) => registerMailboxes(http.baseUrl, name)),
      );
    for (let i = 0; i < names.length; i += 100) {
      const inputs = names.slice(i, i + 100).map((name) => directInput('ann', name));
      const { sendMessages } = await graphqlOk<{ sendMessages: Array<{ status: string }> }>(
        http.baseUrl,
        SEND_MANY,
        { inputs },
      );
      expect(sendMessages.every((routed) => routed.status === 'QUEUED')).toBe(true);
    }

    const primaries = await backend.cluster.primaryPorts();
    expect(primaries).toHaveLength(3);
    const perNode = new Map<number, string[]>();
    for (const port of primaries) {
      const node = backend.cluster.nodeClient(port);
      try {
        expect(await node.dbsize()).toBeGreaterThan(0);
        const keys = await keysUnder(node, `${prefix}mailbox:{spread-`);
        perNode.set(
          port,
          keys.filter((key) => key.endsWith(':messages')).map((key) => /\{(.+)\}/.exec(key)![1]),
        );
      } finally {
        node.disconnect();
      }
    }
    const counts = primaries.map((port) => perNode.get(port)!.length);
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(1_000);
    // About a third each: CRC16 of the hash tag decides, not the service.
    for (const count of counts) expect(count).toBeGreaterThan(200);
    // CLUSTER KEYSLOT agrees on where a sample of them lives.
    for (const port of primaries) {
      for (const name of perNode.get(port)!.slice(0, 5)) {
        expect(await backend.cluster.slotOwnerPort(`${prefix}mailbox:{${name}}:messages`)).toBe(
          port,
        );
      }
    }
  }, 120_000);

  it('loses and repeats nothing acknowledged when a primary is killed and restarted during sends', async () => {
    const [first, second] = services;
    await registerMailboxes(first.baseUrl, 'steady');
    const owner = await backend.cluster.slotOwnerPort(`${prefix}mailbox:{steady}:messages`);
    const channels = await metric(second, 'mailbox_subscribed_channels');
    const feed = await feedOf(second, ws, 'steady', channels);

    let killed: Promise<void> | null = null;
    const load = Promise.all(
      [first, second].map((service) =>
        sendLoad(service.baseUrl, 'ann', 'steady', 200, 3, (done) => {
          if (done >= 50 && killed === null)
            killed = (async () => {
              await backend.cluster.killNode(owner);
              await new Promise((resolve) => setTimeout(resolve, 2_000));
              await backend.cluster.startNode(owner);
              await backend.cluster.waitForState('ok');
            })();
        }),
      ),
    );
    const outcomes = (await load).flat();
    await (killed as unknown as Promise<void>);
    const acknowledged = outcomes.filter(
      (outcome) => outcome.status === 'SUCCESS' || outcome.status === 'QUEUED',
    );
    expect(acknowledged.length).toBe(400);
    await Promise.all(services.map((service) => waitForEmptyOutageQueue(service.baseUrl)));

    const stored = await mailboxIds(first.baseUrl, 'steady');
    expect(stored.map((message) => message.id).sort()).toEqual(
      acknowledged.map((outcome) => outcome.messageId).sort(),
    );
    await eventually(() => new Set(feed.values.map((m) => m.id)).size >= 400, 30_000);
    const received = feed.values.map((message) => message.id);
    expect(received.length).toBe(new Set(received).size);
    expect(feed.errors).toEqual([]);
    feed.unsubscribe();
  }, 120_000);

  it('follows a slot moved during sends (MOVED, ASK), the feed moving with it', async () => {
    const [first, second] = services;
    await registerMailboxes(first.baseUrl, 'mover');
    const key = `${prefix}mailbox:{mover}:messages`;
    const from = await backend.cluster.slotOwnerPort(key);
    const to = (await backend.cluster.primaryPorts()).find((port) => port !== from)!;
    const slot = Number(await nodeCommand(from, 'CLUSTER', 'KEYSLOT', key));
    const channels = await metric(second, 'mailbox_subscribed_channels');
    const feed = await feedOf(second, ws, 'mover', channels);

    const before = await sendLoad(first.baseUrl, 'ann', 'mover', 100, 4);
    const [during] = await Promise.all([
      sendLoad(first.baseUrl, 'ann', 'mover', 300, 4),
      migrateSlot(slot, from, to, backend.cluster.ports),
    ]);
    expect(await backend.cluster.slotOwnerPort(key)).toBe(to);
    const after = await sendLoad(second.baseUrl, 'ann', 'mover', 100, 4);
    const outcomes = [...before, ...during, ...after];
    const acknowledged = outcomes.filter(
      (outcome) => outcome.status === 'SUCCESS' || outcome.status === 'QUEUED',
    );
    expect(acknowledged.length).toBe(500);
    await Promise.all(services.map((service) => waitForEmptyOutageQueue(service.baseUrl)));

    const stored = await mailboxIds(first.baseUrl, 'mover');
    expect(stored.map((message) => message.id).sort()).toEqual(
      acknowledged.map((outcome) => outcome.messageId).sort(),
    );
    // Messages sent after the move reach the feed live, from the new owner.
    await eventually(() => {
      const received = new Set(feed.values.map((m) => m.id));
      return after.every((outcome) => received.has(outcome.messageId!));
    }, 15_000);
    const received = feed.values.map((message) => message.id);
    expect(received.length).toBe(new Set(received).size);
    expect(feed.errors).toEqual([]);
    feed.unsubscribe();
  }, 120_000);
});
