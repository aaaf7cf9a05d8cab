import { eventually, graphql, type GraphqlResponse } from '../utils/graphql-client';
import { threadKey } from '../../src/messages/thread-key';
import { RedisKeys } from '../../src/redis/redis-keys';
import { AppConfigService } from '../../src/config/app-config.service';
import { enrich, validateSendInput } from '../../src/messages/message-validation';
import { newMessageId } from '../../src/messages/message-id';
import { MessageRouterService } from '../../src/routing/message-router.service';
import { OutageQueueService } from '../../src/routing/outage-queue.service';
import { SafetyRepository, utcDay } from '../../src/safety/safety.repository';
import { MessageStore } from '../../src/store/message-store';
import type { SendMessageInput } from '../../src/messages/send-message.input';
import { directInput, type SendInput } from '../factories/messages';
import { REGISTER, SEND_MANY } from '../utils/documents';
import { startRedisBackend, type RedisBackend } from '../utils/redis-backend';
import { startTestApp, uniquePrefix, type TestApp } from '../utils/test-app';

const ADMIN = 'admin-token-for-safety-tests-0123';
const SEND = `mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) { messageId threadId status }
}`;

interface Sent {
  messageId: string;
  threadId: string;
  status: string;
}

describe('agent safety guards (two instances, shared state in Redis)', () => {
  let backend: RedisBackend;
  let a: TestApp;
  let b: TestApp;
  /** ROUTER_MAX_HOPS=2 on the same Redis and prefix. */
  let shallow: TestApp;
  const tokens: Record<string, string> = {};

  const as = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

  async function admin<T>(app: TestApp, query: string, variables = {}): Promise<T> {
    const response = await graphql<T>(app.baseUrl, query, variables, as(ADMIN));
    expect(response.errors).toBeUndefined();
    return response.data!;
  }

  function send(
    app: TestApp,
    from: string,
    input: Record<string, unknown>,
  ): Promise<GraphqlResponse<{ sendMessage: Sent }>> {
    return graphql<{ sendMessage: Sent }>(
      app.baseUrl,
      SEND,
      { input: { mode: 'DIRECT', ...input } },
      as(tokens[from]),
    );
  }

  async function sent(app: TestApp, from: string, input: Record<string, unknown>): Promise<Sent> {
    const response = await send(app, from, input);
    expect(response.errors).toBeUndefined();
    return response.data!.sendMessage;
  }

  async function refused(
    app: TestApp,
    from: string,
    input: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    const response = await send(app, from, input);
    expect(response.data?.sendMessage ?? null).toBeNull();
    return response.errors![0].extensions as Record<string, unknown>;
  }

  beforeAll(async () => {
    backend = await startRedisBackend();
    const environment = {
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      REDIS_KEY_PREFIX: uniquePrefix(),
      RATE_LIMIT_PER_MINUTE: '0',
      PAIR_RATE_LIMIT_PER_MINUTE: '5',
      DUPLICATE_WINDOW: '600',
      ROUTER_MAX_HOPS: '10',
      ROUTER_MAX_VISITS: '2',
    };
    a = await startTestApp(backend, environment);
    b = await startTestApp(backend, environment);
    shallow = await startTestApp(backend, { ...environment, ROUTER_MAX_HOPS: '2' });
    for (const name of [
      'alice',
      'bob',
      'carol',
      'dave',
      'erin',
      'frank',
      'team-a',
      'pair1',
      'pair2',
      'drain1',
      'drain2',
      'drain3',
      'drain4',
      'drain5',
      'drain6',
      'drain7',
      'drain8',
      'heavy',
    ]) {
      const data = await admin<{ registerMailbox: { token: string } }>(a, REGISTER, { name });
      tokens[name] = data.registerMailbox.token;
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), shallow?.close()]);
    await backend?.destroy();
  });

  it('pauses a mailbox on every instance at once, and resumes it', async () => {
    await sent(b, 'alice', { target: 'carol', content: 'before the pause' });
    const paused = await admin<{ pauseMailbox: { name: string; paused: boolean } }>(
      a,
      'mutation { pauseMailbox(name: "alice") { name paused } }',
    );
    expect(paused.pauseMailbox).toEqual({ name: 'alice', paused: true });
    expect(await refused(b, 'alice', { target: 'carol', content: 'while paused' })).toMatchObject({
      code: 'PAUSED',
      reason: 'MAILBOX_PAUSED',
      field: 'input.sender',
    });
    const metrics = await (await fetch(`${b.baseUrl}/metrics`, { headers: as(ADMIN) })).text();
    expect(metrics).toMatch(/^mailbox_paused_mailboxes 1$/m);
    // Only its sending stops: others still write to it.
    await sent(a, 'carol', { target: 'alice', content: 'to a paused mailbox' });
    await admin(b, 'mutation { resumeMailbox(name: "alice") { name } }');
    await sent(a, 'alice', { target: 'carol', content: 'after the resume' });
  });

  it('writes no setting for a mailbox deleted meanwhile, and starts a new mailbox without an old one’s', async () => {
    const safety = a.app.get(SafetyRepository);
    const metadata = a.app.get(RedisKeys).mailboxMetadata('lapsed');
    const redis = backend.client();
    try {
      // As a pause, policy or budget that comes in after the mailbox's deletion removed it.
      expect(await safety.setPaused('lapsed', true)).toBe(false);
      expect(await safety.setContactPolicy('lapsed', ['alice'])).toBe(false);
      expect(await safety.setDailyBudget('lapsed', 5)).toBe(false);
      expect(await redis.exists(metadata)).toBe(0);
      // What such a write left behind before it checked: the mailbox registered later has none.
      await redis.hset(
        metadata,
        'paused',
        '1',
        'acceptFrom',
        '["nobody"]',
        'dailyTokenBudget',
        '1',
      );
      const { registerMailbox } = await admin<{ registerMailbox: { token: string } }>(a, REGISTER, {
        name: 'lapsed',
      });
      tokens.lapsed = registerMailbox.token;
      const state = await admin<{ mailbox: Record<string, unknown> }>(
        b,
        '{ mailbox(name: "lapsed") { paused acceptFrom dailyTokenBudget } }',
      );
      expect(state.mailbox).toEqual({ paused: false, acceptFrom: ['*'], dailyTokenBudget: null });
      await sent(a, 'lapsed', { target: 'carol', content: 'free to write' });
    } finally {
      redis.disconnect();
    }
  });

  it('limits one pair to PAIR_RATE_LIMIT_PER_MINUTE across instances, not other pairs', async () => {
    for (let i = 0; i < 5; i++) {
      await sent(i % 2 === 0 ? a : b, 'pair1', { target: 'pair2', content: `n${i}` });
    }
    const limited = await refused(a, 'pair1', { target: 'pair2', content: 'n5' });
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', reason: 'PAIR_RATE_LIMIT', limit: 5 });
    expect(limited.retryAfterSeconds).toBeGreaterThan(0);
    await sent(b, 'pair1', { target: 'carol', content: 'another pair' });
    await sent(b, 'pair2', { target: 'pair1', content: 'the other way' });
  });

  it('refuses the same body to the same mailbox as DUPLICATE, unless an idempotency key says', async () => {
    const first = await sent(a, 'bob', { target: 'erin', content: 'please review PR 12' });
    expect(
      await refused(b, 'bob', { target: 'erin', content: 'please review PR 12' }),
    ).toMatchObject({ code: 'DUPLICATE', duplicateOf: first.messageId });
    await sent(b, 'bob', { target: 'carol', content: 'please review PR 12' });
    const keyed = await sent(b, 'bob', {
      target: 'erin',
      content: 'please review PR 12',
      idempotencyKey: 'review-12-again',
    });
    expect(keyed.messageId).not.toBe(first.messageId);
  });

  it('passes a keyed repeat without its guards: counted once, never refused what the first was given', async () => {
    for (const name of ['retry1', 'retry2']) {
      tokens[name] = (
        await admin<{ registerMailbox: { token: string } }>(a, REGISTER, { name })
      ).registerMailbox.token;
    }
    const input = { target: 'retry2', content: 'the report', idempotencyKey: 'report-1' };
    const first = await sent(a, 'retry1', input);
    // A client that lost the answer retries, more often than the pair window allows sends.
    for (let i = 0; i < 6; i++) {
      expect((await sent(i % 2 === 0 ? b : a, 'retry1', input)).messageId).toBe(first.messageId);
    }
    // The pair window holds the first send only: four more fit in its five a minute.
    for (let i = 1; i <= 4; i++) {
      await sent(a, 'retry1', { target: 'retry2', content: `fresh ${i}` });
    }
    expect(await refused(b, 'retry1', { target: 'retry2', content: 'one too many' })).toMatchObject(
      { code: 'RATE_LIMITED', reason: 'PAIR_RATE_LIMIT' },
    );
    // And the repeat is still the first send's answer, past the limit.
    expect((await sent(b, 'retry1', input)).messageId).toBe(first.messageId);
    // A key whose first send was refused stored nothing: sent again, to anyone, it is a send
    // like any other, and the guards hold.
    const ghost = { target: 'ghost', content: 'lost', idempotencyKey: 'report-2' };
    expect(await refused(a, 'retry1', ghost)).toMatchObject({ code: 'NOT_FOUND' });
    expect(
      await refused(b, 'retry1', { ...ghost, target: 'retry2', content: 'past the window' }),
    ).toMatchObject({ code: 'RATE_LIMITED', reason: 'PAIR_RATE_LIMIT' });
  });

  it('counts a send whose key a refused send had claimed: that key stored nothing', async () => {
    for (const name of ['retry3', 'retry4']) {
      tokens[name] = (
        await admin<{ registerMailbox: { token: string } }>(a, REGISTER, { name })
      ).registerMailbox.token;
    }
    // One throwaway key per send, each first refused: the pair window counts every send.
    for (let i = 1; i <= 5; i++) {
      const idempotencyKey = `throwaway-${i}`;
      const ghost = { target: `ghost-${i}`, content: `probe ${i}`, idempotencyKey };
      expect(await refused(a, 'retry3', ghost)).toMatchObject({ code: 'NOT_FOUND' });
      const routed = await sent(b, 'retry3', {
        target: 'retry4',
        content: `send ${i}`,
        idempotencyKey,
      });
      expect(routed.threadId).toBe(routed.messageId);
    }
    expect(await refused(a, 'retry3', { target: 'retry4', content: 'one too many' })).toMatchObject(
      { code: 'RATE_LIMITED', reason: 'PAIR_RATE_LIMIT' },
    );
  });

  it('counts nothing for a send refused because its recipient is missing', async () => {
    const data = await admin<{ registerMailbox: { token: string } }>(a, REGISTER, {
      name: 'gina',
    });
    tokens.gina = data.registerMailbox.token;
    const body = { target: 'ghost', content: 'are you there?' };
    // One call (guard and send together), two calls (a keyed send), and a request.
    expect(await refused(a, 'gina', body)).toMatchObject({ code: 'NOT_FOUND' });
    expect(await refused(b, 'gina', { ...body, idempotencyKey: 'first-try' })).toMatchObject({
      code: 'NOT_FOUND',
    });
    expect(await refused(a, 'gina', { ...body, replyWithinSeconds: 60 })).toMatchObject({
      code: 'NO_RESPONDER',
    });
    // In a thread (the thread guard too, and the duplicate guard, in two calls).
    const thread = (await sent(a, 'gina', { target: 'carol', content: 'a thread' })).threadId;
    const inThread = { target: 'ghost', content: 'in the thread', threadId: thread };
    expect(await refused(b, 'gina', inThread)).toMatchObject({ code: 'NOT_FOUND' });
    const spent = await admin<{ mailbox: Record<string, unknown> }>(
      b,
      '{ mailbox(name: "gina") { tokensToday tokensTodayByRecipient { recipient tokens } } }',
    );
    // "a thread" is 2 tokens, to carol; nothing to ghost.
    expect(spent.mailbox).toEqual({
      tokensToday: 2,
      tokensTodayByRecipient: [{ recipient: 'carol', tokens: 2 }],
    });
    const budget = await admin<{ threadBudget: { messages: number; spentTokens: number } }>(
      a,
      'query T($id: String!) { threadBudget(threadId: $id) { messages spentTokens } }',
      { id: thread },
    );
    expect(budget.threadBudget).toEqual({ messages: 0, spentTokens: 0 });
    // What was counted and taken back leaves no field for the missing name behind: a refused
    // send per made-up name would otherwise grow the day's hash for as long as it is kept.
    const redis = backend.client();
    try {
      const keys = a.app.get(RedisKeys);
      const days = new Set([utcDay(Date.now() - 60_000), utcDay(Date.now())]);
      for (const day of days) {
        expect(await redis.hkeys(keys.mailboxTokens('gina', day))).not.toContain('to:ghost');
      }
    } finally {
      redis.disconnect();
    }
    await admin(a, REGISTER, { name: 'ghost' });
    // Not a DUPLICATE of a send that never happened, and the pair window (5 a minute) holds
    // none of the refused ones.
    await sent(b, 'gina', body);
    await sent(a, 'gina', inThread);
    for (let i = 1; i <= 3; i++) await sent(a, 'gina', { target: 'ghost', content: `again ${i}` });
  });

  it('stops a reply loop at ROUTER_MAX_VISITS until the admin posts in the thread', async () => {
    const start = await sent(a, 'alice', { target: 'bob', content: 'shall we?' });
    let last = start.messageId;
    const chain: Array<[TestApp, string]> = [
      [b, 'bob'],
      [a, 'alice'],
      [b, 'bob'],
      [a, 'alice'],
    ];
    for (const [app, from] of chain) {
      last = (await sent(app, from, { inReplyTo: last, content: `after ${last}` })).messageId;
    }
    // alice has had two replies in this thread: a third is a loop.
    expect(await refused(b, 'bob', { inReplyTo: last, content: 'thanks!' })).toMatchObject({
      code: 'LOOP_DETECTED',
      reason: 'MAX_VISITS',
      field: 'input.inReplyTo',
    });
    // The sender is told in its mailbox too.
    await eventually(async () => {
      const inbox = await admin<{
        mailbox: {
          messages: {
            nodes: Array<{
              sender: string;
              metadata: { type?: string; reason?: string; threadId?: string } | null;
            }>;
          };
        };
      }>(b, '{ mailbox(name: "bob") { messages(first: 500) { nodes { sender metadata } } } }');
      return inbox.mailbox.messages.nodes.some(
        (node) =>
          node.sender === 'mailbox-router' &&
          node.metadata?.type === 'loop.detected' &&
          node.metadata.reason === 'MAX_VISITS' &&
          node.metadata.threadId === start.messageId,
      );
    });
    // An operator's post that the thread's budget refuses starts nothing again.
    const budget = (maxTokens: number) =>
      admin(
        a,
        'mutation T($t: String!, $m: Int!) { setThreadBudget(threadId: $t, maxTokens: $m) { maxTokens } }',
        { t: start.messageId, m: maxTokens },
      );
    await budget(1);
    const over = await graphql(
      a.baseUrl,
      SEND,
      { input: { mode: 'DIRECT', sender: 'bob', inReplyTo: last, content: 'operator: stop' } },
      as(ADMIN),
    );
    expect(over.errors?.[0].extensions).toMatchObject({ code: 'BUDGET_EXHAUSTED' });
    expect(await refused(b, 'bob', { inReplyTo: last, content: 'thanks again!' })).toMatchObject({
      code: 'LOOP_DETECTED',
    });
    await budget(0);
    // Nor one that the sender's own guard refuses, in two calls (a key) as in one.
    await admin(a, 'mutation { pauseMailbox(name: "bob") { paused } }');
    for (const idempotencyKey of [null, 'operator-post-while-paused']) {
      const paused = await graphql(
        a.baseUrl,
        SEND,
        {
          input: {
            mode: 'DIRECT',
            sender: 'bob',
            inReplyTo: last,
            content: 'operator: paused',
            idempotencyKey,
          },
        },
        as(ADMIN),
      );
      expect(paused.errors?.[0].extensions).toMatchObject({ code: 'PAUSED' });
    }
    await admin(a, 'mutation { resumeMailbox(name: "bob") { paused } }');
    expect(await refused(b, 'bob', { inReplyTo: last, content: 'thanks, really' })).toMatchObject({
      code: 'LOOP_DETECTED',
    });
    const post = await admin<{ sendMessage: Sent }>(a, SEND, {
      input: { mode: 'DIRECT', sender: 'bob', inReplyTo: last, content: 'operator: wrap up' },
    });
    expect(post.sendMessage.threadId).toBe(start.messageId);
    await sent(a, 'alice', { inReplyTo: post.sendMessage.messageId, content: 'done' });
  });

  it('refuses a reply past ROUTER_MAX_HOPS with LOOP_DETECTED', async () => {
    const start = await sent(shallow, 'carol', { target: 'dave', content: 'hop 0' });
    const one = await sent(shallow, 'dave', { inReplyTo: start.messageId, content: 'hop 1' });
    const two = await sent(shallow, 'carol', { inReplyTo: one.messageId, content: 'hop 2' });
    expect(
      await refused(shallow, 'dave', { inReplyTo: two.messageId, content: 'hop 3' }),
    ).toMatchObject({ code: 'LOOP_DETECTED', reason: 'MAX_HOPS', limit: 2 });
  });

  it("enforces a recipient's contact policy, and shows it", async () => {
    const set = await graphql<{ setContactPolicy: { acceptFrom: string[] } }>(
      a.baseUrl,
      'mutation { setContactPolicy(acceptFrom: ["alice", "team-*"]) { acceptFrom } }',
      {},
      as(tokens.erin),
    );
    expect(set.data?.setContactPolicy.acceptFrom).toEqual(['alice', 'team-*']);
    expect(await refused(b, 'carol', { target: 'erin', content: 'hello erin' })).toMatchObject({
      code: 'FORBIDDEN',
      reason: 'CONTACT_POLICY',
      field: 'input.target',
    });
    await sent(b, 'alice', { target: 'erin', content: 'from an accepted sender' });
    await sent(a, 'team-a', { target: 'erin', content: 'from a pattern' });
    // Erin wrote to carol first: carol's reply to it passes, her fresh message does not.
    const request = await sent(a, 'erin', {
      target: 'carol',
      content: 'status?',
      replyWithinSeconds: 600,
    });
    await sent(b, 'carol', { inReplyTo: request.messageId, content: 'all green' });
    expect(
      await refused(b, 'carol', { target: 'erin', content: 'and another thing' }),
    ).toMatchObject({ code: 'FORBIDDEN', reason: 'CONTACT_POLICY' });
    // Another mailbox's policy is not the caller's to set.
    const foreign = await graphql(
      a.baseUrl,
      'mutation { setContactPolicy(mailbox: "erin", acceptFrom: ["*"]) { name } }',
      {},
      as(tokens.carol),
    );
    expect(foreign.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const bad = await graphql(
      a.baseUrl,
      'mutation { setContactPolicy(acceptFrom: ["no/slash"]) { name } }',
      {},
      as(tokens.erin),
    );
    expect(bad.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'acceptFrom[0]',
    });
    await graphql(
      a.baseUrl,
      'mutation { setContactPolicy(acceptFrom: null) { name } }',
      {},
      as(tokens.erin),
    );
    await sent(b, 'carol', { target: 'erin', content: 'anyone again' });
  });

  it('answers each send of one batch by its own recipient policy and its own guard', async () => {
    await graphql(
      a.baseUrl,
      'mutation { setContactPolicy(acceptFrom: ["alice"]) { name } }',
      {},
      as(tokens.dave),
    );
    // One request, so the guards of these sends are checked together (on one node, in one
    // script call): each must still get its own recipient's policy and its own duplicate mark.
    const batch = await graphql<{
      sendMessages: Array<{ status: string; errorCode: string | null }>;
    }>(
      a.baseUrl,
      `
        mutation Batch($inputs: [SendMessageInput!]!) {
          sendMessages(inputs: $inputs) {
            status
            errorCode
          }
        }
      `,
      {
        inputs: [
          { mode: 'DIRECT', sender: 'carol', target: 'dave', content: 'batch: refused by policy' },
          { mode: 'DIRECT', sender: 'carol', target: 'frank', content: 'batch: no policy' },
          { mode: 'DIRECT', sender: 'alice', target: 'dave', content: 'batch: accepted by policy' },
          { mode: 'DIRECT', sender: 'carol', target: 'frank', content: 'batch: no policy' },
        ],
      },
      as(ADMIN),
    );
    expect(batch.errors).toBeUndefined();
    expect(batch.data?.sendMessages.map((result) => result.errorCode)).toEqual([
      'FORBIDDEN',
      null,
      null,
      'DUPLICATE',
    ]);
    await graphql(
      a.baseUrl,
      'mutation { setContactPolicy(acceptFrom: null) { name } }',
      {},
      as(tokens.dave),
    );
  });

  it("counts tokens and refuses sends past a mailbox's daily budget", async () => {
    await admin(a, 'mutation { setMailboxBudget(name: "frank", dailyTokens: 10) { name } }');
    // "hello world" is 2 o200k tokens; a provider's own count wins.
    await sent(a, 'frank', { target: 'carol', content: 'hello world' });
    await sent(b, 'frank', {
      target: 'bob',
      content: 'hello world',
      metadata: { usage: { output_tokens: 7 } },
    });
    const exhausted = await refused(a, 'frank', { target: 'alice', content: 'one two three' });
    expect(exhausted).toMatchObject({
      code: 'BUDGET_EXHAUSTED',
      reason: 'MAILBOX_BUDGET',
      limit: 10,
    });
    // A report of fewer tokens than the content holds does not lower its count.
    const reportedNone = await refused(a, 'frank', {
      target: 'alice',
      content: 'one two three',
      metadata: { usage: { output_tokens: 0 } },
    });
    expect(reportedNone).toMatchObject({ code: 'BUDGET_EXHAUSTED', reason: 'MAILBOX_BUDGET' });
    const state = await admin<{ mailbox: Record<string, unknown> }>(
      b,
      '{ mailbox(name: "frank") { tokensToday dailyTokenBudget tokensTodayByRecipient { recipient tokens } } }',
    );
    expect(state.mailbox).toEqual({
      tokensToday: 9,
      dailyTokenBudget: 10,
      tokensTodayByRecipient: [
        { recipient: 'bob', tokens: 7 },
        { recipient: 'carol', tokens: 2 },
      ],
    });
    const message = await admin<{ message: { tokenEstimate: number } | null }>(
      a,
      'query M($id: ID!) { message(id: $id) { tokenEstimate } }',
      { id: (await sent(a, 'carol', { target: 'frank', content: 'hello world' })).messageId },
    );
    expect(message.message).toEqual({ tokenEstimate: 2 });
  });

  it('refuses a reported usage past its ceiling, and shows token sums past GraphQL Int as its largest', async () => {
    const ceiling = 10_000_000;
    const over = await refused(a, 'heavy', {
      mode: 'TOPIC',
      target: 'heavy.report',
      content: 'x',
      metadata: { usage: { total_tokens: ceiling + 1 } },
    });
    expect(over).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.metadata.usage.total_tokens',
      limit: ceiling,
    });
    // 300 messages at the ceiling, in one thread: 3,000,000,000 tokens, past Int's 2,147,483,647.
    const input = {
      mode: 'TOPIC',
      target: 'heavy.report',
      threadId: 'heavy-thread',
      content: 'x',
      metadata: { usage: { total_tokens: ceiling } },
    };
    let last = '';
    for (let batch = 0; batch < 3; batch += 1) {
      const response = await graphql<{
        sendMessages: Array<{ messageId: string; status: string }>;
      }>(
        a.baseUrl,
        SEND_MANY,
        { inputs: Array.from({ length: 100 }, () => input) },
        as(tokens.heavy),
      );
      expect(response.errors).toBeUndefined();
      expect(response.data!.sendMessages.filter((result) => result.status === 'FAILED')).toEqual(
        [],
      );
      last = response.data!.sendMessages[99].messageId;
    }
    const state = await admin<{
      mailbox: { tokensToday: number };
      threadBudget: { spentTokens: number; messages: number };
      message: { tokenEstimate: number };
    }>(
      b,
      `query S($id: ID!) {
        mailbox(name: "heavy") { tokensToday }
        threadBudget(threadId: "heavy-thread") { spentTokens messages }
        message(id: $id) { tokenEstimate }
      }`,
      { id: last },
    );
    expect(state).toEqual({
      mailbox: { tokensToday: 2 ** 31 - 1 },
      threadBudget: { spentTokens: 2 ** 31 - 1, messages: 300 },
      message: { tokenEstimate: ceiling },
    });
  });

  it("counts a model's special token in a message as text, and delivers the message", async () => {
    const content = 'the model stopped at <|endoftext|> again';
    const { messageId } = await sent(a, 'carol', { target: 'frank', content });
    const stored = await admin<{ message: { content: string; tokenEstimate: number } | null }>(
      a,
      'query M($id: ID!) { message(id: $id) { content tokenEstimate } }',
      { id: messageId },
    );
    // o200k's tokens of it as text: "the", " model", " stopped", " at", " <", "|", "end",
    // "of", "text", "|", ">", " again".
    expect(stored.message).toEqual({ content, tokenEstimate: 12 });
  });

  it("refuses a message past a thread's budget, and pauses a thread", async () => {
    const start = await sent(a, 'bob', { target: 'carol', content: 'a thread with a budget' });
    const thread = start.threadId;
    const budget = await admin<{ setThreadBudget: Record<string, unknown> }>(
      b,
      'mutation T($t: String!) { setThreadBudget(threadId: $t, maxTokens: 4) { threadId maxTokens spentTokens paused } }',
      { t: thread },
    );
    expect(budget.setThreadBudget).toEqual({
      threadId: thread,
      maxTokens: 4,
      spentTokens: 0,
      paused: false,
    });
    const reply = await sent(b, 'carol', { inReplyTo: start.messageId, content: 'hello world' });
    expect(
      await refused(a, 'bob', { inReplyTo: reply.messageId, content: 'one two three four five' }),
    ).toMatchObject({ code: 'BUDGET_EXHAUSTED', reason: 'THREAD_BUDGET', limit: 4 });

    await admin(a, 'mutation T($t: String!) { pauseThread(threadId: $t) { paused } }', {
      t: thread,
    });
    expect(await refused(b, 'bob', { inReplyTo: reply.messageId, content: 'ok' })).toMatchObject({
      code: 'PAUSED',
      reason: 'THREAD_PAUSED',
    });
    const state = await admin<{ threadBudget: Record<string, unknown> }>(
      b,
      'query T($t: String!) { threadBudget(threadId: $t) { paused spentTokens messages } }',
      { t: thread },
    );
    // The kill switch holds for the operator's own post too: it resumes the thread first.
    const operator = await graphql(
      a.baseUrl,
      SEND,
      { input: { mode: 'DIRECT', sender: 'carol', inReplyTo: reply.messageId, content: 'go' } },
      as(ADMIN),
    );
    expect(operator.errors?.[0].extensions).toMatchObject({
      code: 'PAUSED',
      reason: 'THREAD_PAUSED',
    });
    expect(state.threadBudget).toEqual({ paused: true, spentTokens: 2, messages: 1 });
    // Its participants may read it too; another mailbox may not.
    const query = 'query T($t: String!) { threadBudget(threadId: $t) { paused } }';
    const own = await graphql<{ threadBudget: { paused: boolean } }>(
      a.baseUrl,
      query,
      { t: thread },
      as(tokens.carol),
    );
    expect(own.data?.threadBudget).toEqual({ paused: true });
    const other = await graphql(a.baseUrl, query, { t: thread }, as(tokens.dave));
    expect(other.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', field: 'threadId' });
    // The guard state of a paused thread is kept while it takes no message: it cannot lapse
    // 30 days after the last one and lift the pause. Resumed, it lapses again (budget removed).
    const redis = backend.client();
    const guardKey = a.app.get(RedisKeys).threadGuard(threadKey(thread));
    try {
      expect(await redis.pttl(guardKey)).toBe(-1);
      await admin(b, 'mutation T($t: String!) { resumeThread(threadId: $t) { paused } }', {
        t: thread,
      });
      expect(await redis.pttl(guardKey)).toBe(-1);
      await admin(
        a,
        'mutation T($t: String!) { setThreadBudget(threadId: $t, maxTokens: 0) { maxTokens } }',
        { t: thread },
      );
      expect(await redis.pttl(guardKey)).toBeGreaterThan(29 * 86_400_000);
    } finally {
      redis.disconnect();
    }
    await sent(a, 'bob', { inReplyTo: reply.messageId, content: 'ok' });
  });

  it("never lets anyone send as the service's notices, or register a lookalike name", async () => {
    const forged = await graphql(
      a.baseUrl,
      SEND,
      { input: { mode: 'DIRECT', sender: 'mailbox-router', target: 'alice', content: 'notice' } },
      as(ADMIN),
    );
    expect(forged.errors?.[0].extensions).toMatchObject({
      code: 'FORBIDDEN',
      field: 'input.sender',
    });
    for (const name of ['mailbox-router', 'Mailbox-Router']) {
      const lookalike = await graphql(a.baseUrl, REGISTER, { name }, as(ADMIN));
      expect(lookalike.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    }
  });

  it('counts refusals and tokens in routerStatistics and /metrics, for every instance', async () => {
    await eventually(async () => {
      const stats = await admin<{
        routerStatistics: { guardRefusals: number; tokensSent: number };
      }>(b, '{ routerStatistics { guardRefusals tokensSent } }');
      // Twenty-two refusals in the tests above (each instance adds its own once a second, so
      // the sum reads exactly this only once every one is in).
      return stats.routerStatistics.guardRefusals === 22 && stats.routerStatistics.tokensSent > 20;
    }, 10_000);
    const metrics = await (await fetch(`${a.baseUrl}/metrics`, { headers: as(ADMIN) })).text();
    expect(metrics).toMatch(/^mailbox_guard_refusals_total \d+/m);
    expect(metrics).toMatch(/^mailbox_tokens_sent_total \d+/m);
  });

  // After the count of refusals above, which these would change.
  describe('while sends from an outage still wait in the local queue, Redis answering', () => {
    const input = (send: SendInput): SendMessageInput => send as unknown as SendMessageInput;
    const route = (send: SendInput) => a.app.get(MessageRouterService).route(input(send));

    /**
     * Holds a's queue: a send accepted unguarded, as during an outage, at its head, and the
     * drain stopped until `release`, which stores the queue.
     */
    function holdQueue(from: string, to: string): { release(): Promise<void> } {
      const outage = a.app.get(OutageQueueService);
      expect(outage.size).toBe(0);
      const drain = jest.spyOn(outage, 'flush').mockResolvedValue(undefined);
      const limits = a.app.get(AppConfigService).limits;
      const held = validateSendInput(
        input(directInput(from, to, { content: 'from the outage' })),
        limits,
      );
      outage.accept({ message: enrich(held, newMessageId()), idempotencyKey: null });
      expect(outage.mustQueue && outage.reachable).toBe(true);
      return {
        release: async () => {
          drain.mockRestore();
          await outage.flush();
          expect(outage.size).toBe(0);
        },
      };
    }

    it('guards a send that queues behind them: refused now, not stored later', async () => {
      const queue = holdQueue('drain1', 'drain2');
      const sends = await Promise.allSettled(
        Array.from({ length: 6 }, (_, i) =>
          route(directInput('drain1', 'drain2', { content: `behind ${i}` })),
        ),
      );
      const refusals = sends.flatMap((send): unknown[] =>
        send.status === 'rejected' ? [send.reason] : [],
      );
      expect(refusals).toHaveLength(1);
      expect(refusals[0]).toMatchObject({
        code: 'RATE_LIMITED',
        details: { reason: 'PAIR_RATE_LIMIT' },
      });
      await queue.release();
      const inbox = await admin<{ mailbox: { messages: { nodes: Array<{ content: string }> } } }>(
        a,
        '{ mailbox(name: "drain2") { messages(first: 20) { nodes { content } } } }',
      );
      expect(inbox.mailbox.messages.nodes).toHaveLength(6);
    });

    it("stops a request's deadline for a timely reply that queues behind them", async () => {
      const request = await sent(a, 'drain3', {
        target: 'drain4',
        content: 'answer me',
        replyWithinSeconds: 600,
      });
      const deadlines = a.app.get(RedisKeys).requestDeadlines();
      const redis = backend.client();
      try {
        expect(await redis.zscore(deadlines, request.messageId)).not.toBeNull();
        const queue = holdQueue('drain4', 'drain3');
        const reply = await route(
          directInput('drain4', 'drain3', { inReplyTo: request.messageId }),
        );
        expect(reply.status).toBe('QUEUED');
        expect(a.app.get(OutageQueueService).size).toBe(2);
        // Stopped at once, not when the queue comes to the reply.
        expect(await redis.zscore(deadlines, request.messageId)).toBeNull();
        await queue.release();
        expect(await redis.zscore(deadlines, request.messageId)).toBeNull();
      } finally {
        redis.disconnect();
      }
    });

    it("queues a timely reply whose request's deadline cannot be stopped for a Redis failure", async () => {
      const request = await sent(a, 'drain3', {
        target: 'drain4',
        content: 'answer me again',
        replyWithinSeconds: 600,
      });
      const store = a.app.get(MessageStore);
      const stop = jest
        .spyOn(store, 'answered')
        .mockRejectedValueOnce(new Error('Connection is closed.'));
      try {
        const reply = await route(
          directInput('drain4', 'drain3', { inReplyTo: request.messageId, content: 'here' }),
        );
        // Not a failure whose guards stay counted (its retry was a DUPLICATE): queued, and
        // stored once the queue drains, its deadline stopped then.
        expect(reply.status).toBe('QUEUED');
        expect(stop).toHaveBeenCalledTimes(1);
        await eventually(() => a.app.get(OutageQueueService).size === 0, 10_000);
        const inbox = await admin<{ message: { content: string } | null }>(
          a,
          'query M($id: ID!) { message(id: $id) { content } }',
          { id: reply.messageId },
        );
        expect(inbox.message).toEqual({ content: 'here' });
        const redis = backend.client();
        try {
          const deadlines = a.app.get(RedisKeys).requestDeadlines();
          expect(await redis.zscore(deadlines, request.messageId)).toBeNull();
        } finally {
          redis.disconnect();
        }
      } finally {
        stop.mockRestore();
      }
    });

    it('gives back what the guards counted for a queued send that the queue drops', async () => {
      const queue = holdQueue('drain5', 'drain6');
      expect((await route(directInput('drain5', 'drain6', { content: 'status?' }))).status).toBe(
        'QUEUED',
      );
      // Its recipient leaves before the queue comes to it: it is dropped, and its sender told.
      await admin(a, 'mutation { deactivateMailbox(name: "drain6") { name } }');
      await queue.release();
      await admin(a, REGISTER, { name: 'drain6' });
      // Not a DUPLICATE of a message that was never stored.
      expect((await route(directInput('drain5', 'drain6', { content: 'status?' }))).status).toBe(
        'QUEUED',
      );
    });

    it('counts a keyed send once when its retry queues behind it', async () => {
      const queue = holdQueue('drain7', 'drain8');
      const keyed = directInput('drain7', 'drain8', {
        content: 'once',
        idempotencyKey: 'queued-twice',
        metadata: { usage: { output_tokens: 50 } },
      });
      const [first, retry] = [await route(keyed), await route(keyed)];
      expect([first.status, retry.status]).toEqual(['QUEUED', 'QUEUED']);
      // The retry is the send it repeats, queued once.
      expect(retry.messageId).toBe(first.messageId);
      await queue.release();
      const state = await admin<{ mailbox: { tokensToday: number } }>(
        a,
        '{ mailbox(name: "drain7") { tokensToday } }',
      );
      expect(state.mailbox.tokensToday).toBe(50);
    });
  });
});

describe('the guards with authentication off', () => {
  let backend: RedisBackend;
  let app: TestApp;

  beforeAll(async () => {
    backend = await startRedisBackend();
    app = await startTestApp(backend, { AUTH_ENABLED: 'false', ROUTER_MAX_VISITS: '2' });
    for (const name of ['left', 'right']) {
      await graphql(app.baseUrl, REGISTER, { name });
    }
  });

  afterAll(async () => {
    await app?.close();
    await backend?.destroy();
  });

  it('stops a reply loop: every caller acts as the admin, and none is the operator posting', async () => {
    const send = (input: Record<string, unknown>) =>
      graphql<{ sendMessage: Sent }>(app.baseUrl, SEND, { input: { mode: 'DIRECT', ...input } });
    const start = await send({ sender: 'left', target: 'right', content: 'shall we?' });
    let last = start.data!.sendMessage.messageId;
    for (const sender of ['right', 'left', 'right', 'left']) {
      const reply = await send({ sender, inReplyTo: last, content: `after ${last}` });
      expect(reply.errors).toBeUndefined();
      last = reply.data!.sendMessage.messageId;
    }
    const loop = await send({ sender: 'right', inReplyTo: last, content: 'thanks!' });
    expect(loop.errors?.[0].extensions).toMatchObject({
      code: 'LOOP_DETECTED',
      reason: 'MAX_VISITS',
    });
  });
});
