import type { Client } from 'graphql-ws';
import type { Cluster, Redis } from 'ioredis';
import { directInput, type SendInput } from '../factories/messages';
import {
  connectWs,
  eventually,
  graphql,
  graphqlOk,
  LiveSubscription,
} from '../utils/graphql-client';
import { DEACTIVATE, SEND, type RouteView } from '../utils/documents';
import { startRedisBackend, testTopology, type RedisBackend } from '../utils/redis-backend';
import { mailboxChannel, registerMailboxes, send, waitForListeners } from '../utils/service';
import { ServiceProcess } from '../utils/service-process';
import { startTestService, uniquePrefix, type TestApp } from '../utils/test-app';

/** Seconds between sweeps: small, so that a deadline is kept within a fraction of a second. */
const CHECK_INTERVAL = '0.2';
/** Long enough for several sweeps on a loaded machine: a second notice would have come by then. */
const SEVERAL_SWEEPS_MS = 1_500;
/** How long a notice may take on a loaded two-core machine. */
const NOTICE_PATIENCE_MS = 20_000;

const FIELDS = `
  id sender mode target content contentType subject metadata priority createdAt
  correlationId threadId inReplyTo replyBy hop
`;

interface Conversed {
  id: string;
  sender: string;
  mode: string;
  target: string | null;
  content: string;
  contentType: string;
  subject: string | null;
  metadata: Record<string, unknown> | null;
  priority: string;
  createdAt: string;
  correlationId: string | null;
  threadId: string;
  inReplyTo: string | null;
  replyBy: string | null;
  hop: number;
}

const INBOX = `
  query Inbox($name: String!) {
    mailbox(name: $name) { messages(first: 100) { nodes { ${FIELDS} } } }
  }`;
const MESSAGE = `query Message($id: ID!) { message(id: $id) { ${FIELDS} } }`;
const FEED = `
  subscription Feed($mailbox: String!, $after: ID) {
    mailboxMessages(mailbox: $mailbox, after: $after) { ${FIELDS} }
  }`;

async function inbox(baseUrl: string, name: string): Promise<Conversed[]> {
  const data = await graphqlOk<{ mailbox: { messages: { nodes: Conversed[] } } }>(baseUrl, INBOX, {
    name,
  });
  return data.mailbox.messages.nodes;
}

function timeoutNotices(messages: Conversed[]): Conversed[] {
  return messages.filter((message) => message.metadata?.type === 'reply.timeout');
}

async function message(baseUrl: string, id: string): Promise<Conversed> {
  return (await graphqlOk<{ message: Conversed }>(baseUrl, MESSAGE, { id })).message;
}

function request(sender: string, target: string, seconds: number): SendInput {
  return directInput(sender, target, { replyWithinSeconds: seconds, subject: 'please answer' });
}

function reply(sender: string, requestId: string, extra: Partial<SendInput> = {}): SendInput {
  return {
    sender,
    mode: 'DIRECT',
    content: `answer to ${requestId}`,
    inReplyTo: requestId,
    ...extra,
  };
}

/** Waits until `mailbox` holds `count` timeout notices, then returns them. */
async function awaitNotices(baseUrl: string, mailbox: string, count = 1): Promise<Conversed[]> {
  let notices: Conversed[] = [];
  await eventually(async () => {
    notices = timeoutNotices(await inbox(baseUrl, mailbox));
    return notices.length >= count;
  }, NOTICE_PATIENCE_MS);
  return notices;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until the request's deadline has passed, by the service's record of it. */
async function pastDeadline(request: Conversed): Promise<void> {
  const left = Date.parse(request.replyBy as string) - Date.now();
  if (left > 0) await pause(left);
}

function deadlinesKey(prefix: string): string {
  return `${prefix}requests:{schedule}:deadlines`;
}

/** The notice's whole shape, as a requester reads it. */
function expectTimeoutNotice(notice: Conversed, sent: Conversed): void {
  expect(notice).toMatchObject({
    sender: 'mailbox-router',
    mode: 'DIRECT',
    target: sent.sender,
    contentType: 'application/json',
    subject: `reply.timeout: ${sent.id} to ${sent.target}`,
    metadata: {
      type: 'reply.timeout',
      requestId: sent.id,
      target: sent.target,
      replyBy: sent.replyBy,
    },
    correlationId: sent.id,
    threadId: sent.threadId,
    inReplyTo: sent.id,
    hop: sent.hop + 1,
  });
  expect(JSON.parse(notice.content)).toEqual(notice.metadata);
  // Made once the deadline had passed, and ordered after everything sent before that.
  expect(Date.parse(notice.createdAt)).toBeGreaterThanOrEqual(Date.parse(sent.replyBy as string));
  expect(notice.id > sent.id).toBe(true);
}

// One instance on standalone Redis; on Cluster and Sentinel two, both sweeping deadlines.
describe(`requests with a deadline (${testTopology()})`, () => {
  let backend: RedisBackend;
  let redis: Redis | Cluster;
  let service: TestApp;

  beforeAll(async () => {
    backend = await startRedisBackend();
    redis = backend.client();
    service = await startTestService(backend, {
      ROUTER_RETRY_CHECK_INTERVAL: CHECK_INTERVAL,
    });
  });

  afterAll(async () => {
    await service?.close();
    await redis?.quit();
    await backend?.destroy();
  });

  it('refuses a request to a missing or deactivated mailbox with NO_RESPONDER, and keeps no deadline for it', async () => {
    await registerMailboxes(service.baseUrl, 'asker-a', 'retired');
    await graphqlOk(service.baseUrl, DEACTIVATE, { name: 'retired' });
    for (const target of ['nobody', 'retired']) {
      const refused = await graphql<{ sendMessage: RouteView }>(service.baseUrl, SEND, {
        input: request('asker-a', target, 1),
      });
      expect(refused.data?.sendMessage ?? null).toBeNull();
      expect(refused.errors?.[0].extensions).toMatchObject({
        code: 'NO_RESPONDER',
        field: 'input.target',
      });
      expect(refused.errors?.[0].message).toContain(target);
    }
    // The same message without a deadline is the ordinary NOT_FOUND.
    const plain = await graphql(service.baseUrl, SEND, {
      input: directInput('asker-a', 'nobody'),
    });
    expect(plain.errors?.[0].extensions?.code).toBe('NOT_FOUND');

    await pause(1_000 + SEVERAL_SWEEPS_MS);
    expect(await inbox(service.baseUrl, 'asker-a')).toEqual([]);
    expect(await redis.zcard(deadlinesKey(service.prefix))).toBe(0);
  });

  it('tells a requester that was offline throughout, once, with the facts of the request', async () => {
    await registerMailboxes(service.baseUrl, 'asker-b', 'helper-b');
    const { messageId } = await send(service.baseUrl, request('asker-b', 'helper-b', 1));
    const sent = await message(service.baseUrl, messageId);
    expect(sent).toMatchObject({ threadId: messageId, hop: 0, inReplyTo: null });
    expect(Date.parse(sent.replyBy as string) - Date.parse(sent.createdAt)).toBe(1_000);
    expect(await redis.zscore(deadlinesKey(service.prefix), messageId)).toBe(
      String(Date.parse(sent.replyBy as string)),
    );

    // Nobody subscribes to asker-b: it reads its mailbox only afterwards.
    const [notice] = await awaitNotices(service.baseUrl, 'asker-b');
    expectTimeoutNotice(notice, sent);
    await pause(SEVERAL_SWEEPS_MS);
    const later = await inbox(service.baseUrl, 'asker-b');
    expect(later.map((each) => each.id)).toEqual([notice.id]);
    expect(await redis.zscore(deadlinesKey(service.prefix), messageId)).toBeNull();

    // The notice is a message of the request's thread, readable by id like any other.
    expect(await message(service.baseUrl, notice.id)).toEqual(notice);
  });

  it('sends nothing twice when an instance died between the notice and the end of its claim', async () => {
    await registerMailboxes(service.baseUrl, 'asker-crash', 'helper-crash');
    const { messageId } = await send(service.baseUrl, request('asker-crash', 'helper-crash', 1));
    const sent = await message(service.baseUrl, messageId);
    const [notice] = await awaitNotices(service.baseUrl, 'asker-crash');

    // What a crash after the notice and before the ZREM leaves behind, once the lease ran
    // out: the request due again.
    await redis.zadd(deadlinesKey(service.prefix), Date.parse(sent.replyBy as string), messageId);
    await eventually(
      async () => (await redis.zscore(deadlinesKey(service.prefix), messageId)) === null,
      NOTICE_PATIENCE_MS,
    );
    await pause(SEVERAL_SWEEPS_MS);
    const notices = timeoutNotices(await inbox(service.baseUrl, 'asker-crash'));
    expect(notices.map((each) => each.id)).toEqual([notice.id]);
  });

  it('pushes the notice to a requester that is online, once', async () => {
    await registerMailboxes(service.baseUrl, 'asker-live', 'helper-live');
    const ws: Client = await connectWs(service.wsUrl);
    try {
      const channel = mailboxChannel(service, 'asker-live');
      const feed = new LiveSubscription<Conversed>(
        ws,
        FEED,
        { mailbox: 'asker-live' },
        (data) => data.mailboxMessages as Conversed,
      );
      await waitForListeners(service, channel, 1);
      const { messageId } = await send(service.baseUrl, request('asker-live', 'helper-live', 1));
      const sent = await message(service.baseUrl, messageId);
      const [pushed] = await feed.waitFor(1, NOTICE_PATIENCE_MS);
      expectTimeoutNotice(pushed, sent);
      await pause(SEVERAL_SWEEPS_MS);
      expect(feed.values).toHaveLength(1);
      expect(feed.errors).toEqual([]);
      feed.unsubscribe();
    } finally {
      await ws.dispose();
    }
  });

  it('sends no notice when the target answers in time; the reply joins the thread at hop 1', async () => {
    await registerMailboxes(service.baseUrl, 'asker-c', 'helper-c', 'stranger-c');
    const { messageId } = await send(service.baseUrl, request('asker-c', 'helper-c', 2));
    const sent = await message(service.baseUrl, messageId);

    // Only a mailbox that received the request may answer it, in the request's thread.
    const forbidden = await graphql(service.baseUrl, SEND, {
      input: reply('stranger-c', messageId),
    });
    expect(forbidden.errors?.[0].extensions).toMatchObject({
      code: 'FORBIDDEN',
      field: 'input.inReplyTo',
    });
    const otherThread = await graphql(service.baseUrl, SEND, {
      input: reply('helper-c', messageId, { threadId: 'another-thread' }),
    });
    expect(otherThread.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.threadId',
    });

    const answered = await send(service.baseUrl, reply('helper-c', messageId));
    expect(answered).toMatchObject({ status: 'QUEUED', recipients: 1 });
    const answer = await message(service.baseUrl, answered.messageId);
    expect(answer).toMatchObject({
      sender: 'helper-c',
      mode: 'DIRECT',
      target: 'asker-c',
      threadId: messageId,
      inReplyTo: messageId,
      hop: 1,
      replyBy: null,
    });
    expect(answer.metadata?.late).toBeUndefined();
    expect(await redis.zscore(deadlinesKey(service.prefix), messageId)).toBeNull();

    await pastDeadline(sent);
    await pause(SEVERAL_SWEEPS_MS);
    const received = await inbox(service.baseUrl, 'asker-c');
    expect(received.map((each) => each.id)).toEqual([answered.messageId]);
  });

  it('keeps an answered request answered when its sender repeats it with its idempotencyKey', async () => {
    await registerMailboxes(service.baseUrl, 'asker-k', 'helper-k');
    const keyed = { ...request('asker-k', 'helper-k', 2), idempotencyKey: 'ask-once' };
    const { messageId } = await send(service.baseUrl, keyed);
    const sent = await message(service.baseUrl, messageId);
    const answered = await send(service.baseUrl, reply('helper-k', messageId));
    // The requester lost the first answer and sends again: the same request, answered.
    expect((await send(service.baseUrl, keyed)).messageId).toBe(messageId);
    expect(await redis.zscore(deadlinesKey(service.prefix), messageId)).toBeNull();

    await pastDeadline(sent);
    await pause(SEVERAL_SWEEPS_MS);
    const received = await inbox(service.baseUrl, 'asker-k');
    expect(received.map((each) => each.id)).toEqual([answered.messageId]);
  });

  it("answers a repeat with its first send's id once the target is deactivated; a refused send keeps no key", async () => {
    await registerMailboxes(service.baseUrl, 'asker-r', 'helper-r');
    const keyed = { ...request('asker-r', 'helper-r', 60), idempotencyKey: 'ask-r' };
    const { messageId } = await send(service.baseUrl, keyed);
    await graphqlOk(service.baseUrl, DEACTIVATE, { name: 'helper-r' });
    expect(await send(service.baseUrl, keyed)).toMatchObject({ messageId, status: 'QUEUED' });

    // Refused: nothing stored under the key, which a later send takes as its own.
    const early = { ...request('asker-r', 'late-r', 60), idempotencyKey: 'ask-late' };
    const refused = await graphql(service.baseUrl, SEND, { input: early });
    expect(refused.errors?.[0].extensions?.code).toBe('NO_RESPONDER');
    await registerMailboxes(service.baseUrl, 'late-r');
    const { messageId: later } = await send(service.baseUrl, early);
    const stored = await message(service.baseUrl, later);
    expect(stored).toMatchObject({ id: later, threadId: later, target: 'late-r' });
    // Its deadline is its own, from when it was sent.
    expect(await redis.zscore(deadlinesKey(service.prefix), later)).toBe(
      String(Date.parse(stored.replyBy as string)),
    );
  });

  it('lets any mailbox answer a topic request, which stops its deadline', async () => {
    await registerMailboxes(service.baseUrl, 'asker-t', 'reader-t');
    const { messageId } = await send(service.baseUrl, {
      sender: 'asker-t',
      mode: 'TOPIC',
      target: 'requests.review',
      content: 'who can review?',
      replyWithinSeconds: 2,
    });
    const sent = await message(service.baseUrl, messageId);
    // Topic messages are every mailbox's to read: reader-t holds none, and answers.
    const answered = await send(service.baseUrl, reply('reader-t', messageId));
    expect(answered).toMatchObject({ status: 'QUEUED', recipients: 1 });
    expect(await message(service.baseUrl, answered.messageId)).toMatchObject({
      sender: 'reader-t',
      mode: 'DIRECT',
      target: 'asker-t',
      threadId: messageId,
      hop: 1,
    });
    expect(await redis.zscore(deadlinesKey(service.prefix), messageId)).toBeNull();
    await pastDeadline(sent);
    await pause(SEVERAL_SWEEPS_MS);
    expect(timeoutNotices(await inbox(service.baseUrl, 'asker-t'))).toEqual([]);
  });

  it('delivers a late reply marked late, after the one notice', async () => {
    await registerMailboxes(service.baseUrl, 'asker-d', 'helper-d');
    const { messageId } = await send(service.baseUrl, request('asker-d', 'helper-d', 1));
    const sent = await message(service.baseUrl, messageId);
    const [notice] = await awaitNotices(service.baseUrl, 'asker-d');
    expectTimeoutNotice(notice, sent);

    const late = await send(
      service.baseUrl,
      reply('helper-d', messageId, { metadata: { confidence: 0.5 } }),
    );
    expect(late.status).toBe('QUEUED');
    const lateReply = await message(service.baseUrl, late.messageId);
    expect(lateReply).toMatchObject({
      target: 'asker-d',
      threadId: messageId,
      inReplyTo: messageId,
      hop: 1,
      metadata: { confidence: 0.5, late: true },
    });

    await pause(SEVERAL_SWEEPS_MS);
    const received = await inbox(service.baseUrl, 'asker-d');
    expect(received.map((each) => each.id)).toEqual([notice.id, late.messageId]);
  });
});

describe(`requests with a deadline, across service processes on one Redis (${testTopology()})`, () => {
  let backend: RedisBackend;
  let redis: Redis | Cluster;
  let a: ServiceProcess;
  let b: ServiceProcess;
  let environment: Record<string, string>;

  beforeAll(async () => {
    backend = await startRedisBackend();
    redis = backend.client();
    environment = {
      ...backend.environment,
      REDIS_KEY_PREFIX: uniquePrefix(),
      ROUTER_RETRY_CHECK_INTERVAL: CHECK_INTERVAL,
    };
    [a, b] = await Promise.all([
      ServiceProcess.start(environment),
      ServiceProcess.start(environment),
    ]);
    await registerMailboxes(a.baseUrl, 'asker-e', 'helper-e', 'asker-f', 'helper-f');
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.quit();
    await backend?.destroy();
  });

  it('tells of each timed-out request exactly once while two instances sweep', async () => {
    const sent = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        send((i % 2 === 0 ? a : b).baseUrl, request('asker-e', 'helper-e', 1)),
      ),
    );
    const requestIds = sent.map((result) => result.messageId).sort();
    await awaitNotices(a.baseUrl, 'asker-e', requestIds.length);
    await pause(SEVERAL_SWEEPS_MS);
    const notices = timeoutNotices(await inbox(b.baseUrl, 'asker-e'));
    expect(notices).toHaveLength(requestIds.length);
    expect(notices.map((notice) => notice.correlationId).sort()).toEqual(requestIds);
    expect(await redis.zcard(deadlinesKey(environment.REDIS_KEY_PREFIX))).toBe(0);
  }, 60_000);

  it('keeps the deadline when the instance that took the request dies before it, and through a restart', async () => {
    const { messageId } = await send(a.baseUrl, request('asker-f', 'helper-f', 2));
    const sent = await message(a.baseUrl, messageId);
    await a.kill();
    expect(Date.now()).toBeLessThan(Date.parse(sent.replyBy as string));

    const [notice] = await awaitNotices(b.baseUrl, 'asker-f');
    expectTimeoutNotice(notice, sent);

    // A restarted instance finds nothing left to tell.
    a = await ServiceProcess.start(environment);
    await pause(SEVERAL_SWEEPS_MS);
    const notices = timeoutNotices(await inbox(a.baseUrl, 'asker-f'));
    expect(notices.map((each) => each.id)).toEqual([notice.id]);
  }, 60_000);

  it('keeps the deadline while no instance runs at all', async () => {
    await registerMailboxes(b.baseUrl, 'asker-g', 'helper-g');
    const { messageId } = await send(b.baseUrl, request('asker-g', 'helper-g', 2));
    const sent = await message(b.baseUrl, messageId);
    await Promise.all([a.kill(), b.kill()]);
    await pastDeadline(sent);

    b = await ServiceProcess.start(environment);
    const [notice] = await awaitNotices(b.baseUrl, 'asker-g');
    expectTimeoutNotice(notice, sent);
    await pause(SEVERAL_SWEEPS_MS);
    expect(timeoutNotices(await inbox(b.baseUrl, 'asker-g'))).toHaveLength(1);
  }, 60_000);
});
