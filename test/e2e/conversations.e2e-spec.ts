import type { Cluster, Redis } from 'ioredis';
import { connectWs, eventually, graphql, LiveSubscription } from '../utils/graphql-client';
import { startRedisBackend, testTopology, type RedisBackend } from '../utils/redis-backend';
import { startTestService, type TestApp } from '../utils/test-app';

const ADMIN = 'conversations-admin-token-0123456789';

const SEND = `mutation ($input: SendMessageInput!) {
  sendMessage(input: $input) { messageId status recipients error }
}`;
const SEND_MANY = `mutation ($inputs: [SendMessageInput!]!) {
  sendMessages(inputs: $inputs) { messageId status error }
}`;
const FIELDS = 'id sender target content threadId inReplyTo hop read metadata';
const INBOX = `query ($name: String!, $first: Int, $after: ID, $unreadOnly: Boolean, $threadId: String) {
  mailbox(name: $name) {
    unreadCount
    messages(first: $first, after: $after, unreadOnly: $unreadOnly, threadId: $threadId) {
      nodes { ${FIELDS} }
      pageInfo { endCursor hasNextPage }
    }
  }
}`;
const THREAD = `query ($id: String!, $first: Int, $after: ID) {
  thread(id: $id, first: $first, after: $after) {
    nodes { ${FIELDS} }
    pageInfo { endCursor hasNextPage }
  }
}`;
const MARK_READ = `mutation ($mailbox: String, $ids: [ID!], $upTo: ID) {
  markRead(mailbox: $mailbox, messageIds: $ids, upTo: $upTo) { name unreadCount }
}`;

interface Node {
  id: string;
  sender: string;
  target: string | null;
  content: string;
  threadId: string;
  inReplyTo: string | null;
  hop: number;
  read: boolean;
  metadata: unknown;
}
interface Page {
  nodes: Node[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

describe(`conversations: the token is the sender, threads, replies and unread state (${testTopology()})`, () => {
  let backend: RedisBackend;
  let redis: Redis | Cluster;
  let service: TestApp;
  let tokens: Record<string, string>;

  /** A call as a mailbox (by its token) or as the admin. */
  async function as<T>(who: string, query: string, variables: Record<string, unknown> = {}) {
    const token = who === 'admin' ? ADMIN : tokens[who];
    return graphql<T>(service.baseUrl, query, variables, { authorization: `Bearer ${token}` });
  }

  async function ok<T>(who: string, query: string, variables: Record<string, unknown> = {}) {
    const response = await as<T>(who, query, variables);
    if (response.errors?.length || !response.data) {
      throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
    }
    return response.data;
  }

  async function sendAs(who: string, input: Record<string, unknown>): Promise<string> {
    const data = await ok<{ sendMessage: { messageId: string; error: string | null } }>(who, SEND, {
      input,
    });
    return data.sendMessage.messageId;
  }

  async function inbox(who: string, variables: Record<string, unknown> = {}) {
    const data = await ok<{ mailbox: { unreadCount: number; messages: Page } }>(who, INBOX, {
      name: who,
      ...variables,
    });
    return data.mailbox;
  }

  beforeAll(async () => {
    backend = await startRedisBackend();
    redis = backend.client();
    service = await startTestService(backend, { AUTH_ENABLED: 'true', ADMIN_TOKEN: ADMIN });
    const register = `mutation ($name: String!) { registerMailbox(name: $name) { token } }`;
    tokens = {};
    for (const name of ['planner', 'worker', 'critic', 'outsider']) {
      const response = await graphql<{ registerMailbox: { token: string } }>(
        service.baseUrl,
        register,
        { name },
        { authorization: `Bearer ${ADMIN}` },
      );
      tokens[name] = response.data!.registerMailbox.token;
    }
  });

  afterAll(async () => {
    await service.close();
    await redis.quit();
    await backend.destroy();
  });

  describe('the token is the sender', () => {
    it('fills in a mailbox token’s own mailbox and refuses another', async () => {
      const id = await sendAs('planner', { mode: 'DIRECT', target: 'worker', content: 'hello' });
      const page = await inbox('worker');
      expect(page.messages.nodes.find((node) => node.id === id)).toMatchObject({
        sender: 'planner',
        threadId: id,
        inReplyTo: null,
        hop: 0,
        read: false,
      });

      const forged = await as('planner', SEND, {
        input: { sender: 'critic', mode: 'DIRECT', target: 'worker', content: 'x' },
      });
      expect(forged.errors?.[0]).toMatchObject({
        extensions: { code: 'FORBIDDEN', field: 'input.sender' },
      });
      const batch = await ok<{ sendMessages: Array<{ error: string | null }> }>(
        'planner',
        SEND_MANY,
        {
          inputs: [
            { mode: 'DIRECT', target: 'worker', content: 'one' },
            { sender: 'critic', mode: 'DIRECT', target: 'worker', content: 'two' },
          ],
        },
      );
      expect(batch.sendMessages[0].error).toBeNull();
      expect(batch.sendMessages[1].error).toMatch(/^inputs\[1\]\.sender: /);
    });

    it('makes the admin name the sender', async () => {
      const response = await as('admin', SEND, {
        input: { mode: 'DIRECT', target: 'worker', content: 'x' },
      });
      expect(response.errors?.[0]).toMatchObject({
        extensions: { code: 'BAD_USER_INPUT', field: 'input.sender' },
      });
      await sendAs('admin', { sender: 'critic', mode: 'DIRECT', target: 'worker', content: 'ok' });
    });
  });

  describe('threads and replies', () => {
    let question: string;
    let answer: string;
    let followUp: string;

    beforeAll(async () => {
      question = await sendAs('planner', {
        mode: 'DIRECT',
        target: 'worker',
        content: 'what is 6 x 7?',
      });
      answer = await sendAs('worker', { mode: 'DIRECT', inReplyTo: question, content: '42' });
      followUp = await sendAs('planner', {
        mode: 'DIRECT',
        inReplyTo: answer,
        content: 'thanks',
      });
    });

    it('sends a reply without a target to the answered message’s sender, in its thread, one hop on', async () => {
      const planner = await inbox('planner', { threadId: question });
      expect(planner.messages.nodes).toEqual([
        expect.objectContaining({
          id: answer,
          sender: 'worker',
          target: 'planner',
          threadId: question,
          inReplyTo: question,
          hop: 1,
        }),
      ]);
      const worker = await inbox('worker', { threadId: question });
      expect(worker.messages.nodes.map((node) => [node.id, node.hop])).toEqual([
        [question, 0],
        [followUp, 2],
      ]);
    });

    it('shows each caller what it sent or received of a thread, and the admin all of it', async () => {
      const other = await sendAs('worker', {
        mode: 'DIRECT',
        target: 'critic',
        threadId: question,
        content: 'is 42 right?',
      });
      const ids = async (who: string) =>
        (await ok<{ thread: Page }>(who, THREAD, { id: question })).thread.nodes.map(
          (node) => node.id,
        );
      expect(await ids('admin')).toEqual([question, answer, followUp, other]);
      expect(await ids('planner')).toEqual([question, answer, followUp]);
      expect(await ids('worker')).toEqual([question, answer, followUp, other]);
      expect(await ids('critic')).toEqual([other]);
      expect(await ids('outsider')).toEqual([]);

      const first = (await ok<{ thread: Page }>('admin', THREAD, { id: question, first: 2 }))
        .thread;
      expect(first.nodes.map((node) => node.id)).toEqual([question, answer]);
      expect(first.pageInfo.hasNextPage).toBe(true);
      const rest = (
        await ok<{ thread: Page }>('admin', THREAD, {
          id: question,
          after: first.pageInfo.endCursor,
        })
      ).thread;
      expect(rest.nodes.map((node) => node.id)).toEqual([followUp, other]);
    });

    it('keeps the first message in a thread that a send joined by naming it, not answering it', async () => {
      const opening = await sendAs('planner', {
        mode: 'DIRECT',
        target: 'worker',
        content: 'plan',
      });
      const named = await sendAs('worker', {
        mode: 'DIRECT',
        target: 'planner',
        threadId: opening,
        content: 'on it',
      });
      const ids = async (who: string) =>
        (await ok<{ thread: Page }>(who, THREAD, { id: opening })).thread.nodes.map(
          (node) => node.id,
        );
      expect(await ids('planner')).toEqual([opening, named]);
      expect(await ids('worker')).toEqual([opening, named]);
      expect(
        (await inbox('worker', { threadId: opening })).messages.nodes.map((n) => n.id),
      ).toEqual([opening]);
    });

    it('reads a thread of one message from the message itself', async () => {
      const alone = await sendAs('critic', { mode: 'DIRECT', target: 'worker', content: 'solo' });
      const thread = (await ok<{ thread: Page }>('worker', THREAD, { id: alone })).thread;
      expect(thread.nodes.map((node) => node.id)).toEqual([alone]);
      expect((await ok<{ thread: Page }>('planner', THREAD, { id: alone })).thread.nodes).toEqual(
        [],
      );
      // A mailbox's page of that thread holds only what is in the mailbox, and only unread
      // messages with unreadOnly.
      const inThread = async (who: string, unreadOnly = false) =>
        (await inbox(who, { threadId: alone, unreadOnly })).messages.nodes.map((node) => node.id);
      expect(await inThread('worker')).toEqual([alone]);
      expect(await inThread('planner')).toEqual([]);
      expect(await inThread('critic')).toEqual([]);
      await ok('worker', MARK_READ, { mailbox: 'worker', ids: [alone] });
      expect(await inThread('worker', true)).toEqual([]);
    });

    it('refuses a reply from a mailbox that did not receive the message, and a reply to another thread', async () => {
      const stranger = await as('outsider', SEND, {
        input: { mode: 'DIRECT', inReplyTo: question, content: 'me too' },
      });
      expect(stranger.errors?.[0]).toMatchObject({
        extensions: { code: 'FORBIDDEN', field: 'input.inReplyTo' },
      });
      const elsewhere = await as('worker', SEND, {
        input: { mode: 'DIRECT', inReplyTo: question, threadId: 'other', content: 'x' },
      });
      expect(elsewhere.errors?.[0]).toMatchObject({
        extensions: { code: 'BAD_USER_INPUT', field: 'input.threadId' },
      });
      const missing = await as('worker', SEND, {
        input: { mode: 'DIRECT', inReplyTo: '01ARZ3NDEKTSV4RRFFQ69G5FAV', content: 'x' },
      });
      expect(missing.errors?.[0]).toMatchObject({
        extensions: { code: 'NOT_FOUND', field: 'input.inReplyTo' },
      });
    });

    it("refuses a send into a message's thread from a mailbox that neither sent nor received the message", async () => {
      const intruder = await as('outsider', SEND, {
        input: { mode: 'DIRECT', target: 'planner', threadId: question, content: 'let me in' },
      });
      expect(intruder.errors?.[0]).toMatchObject({
        extensions: { code: 'FORBIDDEN', field: 'input.threadId' },
      });
      expect(intruder.errors?.[0].message).toContain(
        `neither sent nor received message ${question}`,
      );
      // The operator may post in any thread; a label, or an id that names no message, is open.
      await sendAs('admin', {
        sender: 'outsider',
        mode: 'DIRECT',
        target: 'planner',
        threadId: question,
        content: 'from the operator',
      });
      for (const threadId of ['shared-label', '01ARZ3NDEKTSV4RRFFQ69G5FAV']) {
        await sendAs('outsider', { mode: 'DIRECT', target: 'planner', threadId, content: 'open' });
      }
    });
  });

  describe('unread state', () => {
    it('counts, filters and marks read by ids and up to an id', async () => {
      const register = `mutation { registerMailbox(name: "reader") { token } }`;
      tokens.reader = (
        await ok<{ registerMailbox: { token: string } }>('admin', register)
      ).registerMailbox.token;
      const ids: string[] = [];
      for (let i = 0; i < 6; i += 1) {
        ids.push(
          await sendAs('planner', { mode: 'DIRECT', target: 'reader', content: `note ${i}` }),
        );
      }
      expect((await inbox('reader')).unreadCount).toBe(6);
      const elsewhere = await sendAs('planner', { mode: 'DIRECT', target: 'worker', content: 'x' });

      const marked = await ok<{ markRead: { name: string; unreadCount: number } }>(
        'reader',
        MARK_READ,
        // An id twice and an id of another mailbox's: each counts once, the stranger not at all.
        { ids: [ids[1], ids[4], ids[1], elsewhere] },
      );
      expect(marked.markRead).toEqual({ name: 'reader', unreadCount: 4 });
      const all = await inbox('reader');
      expect(all.messages.nodes.map((node) => node.read)).toEqual([
        false,
        true,
        false,
        false,
        true,
        false,
      ]);
      // message(id) reads as the token's mailbox: its mark for the reader, none for the sender.
      const byId = `query ($id: ID!) { message(id: $id) { id read } }`;
      for (const [id, read] of [
        [ids[0], false],
        [ids[1], true],
      ] as const) {
        expect(
          (await ok<{ message: { read: boolean } }>('reader', byId, { id })).message.read,
        ).toBe(read);
      }
      expect(
        (await ok<{ message: { read: boolean } }>('planner', byId, { id: ids[1] })).message.read,
      ).toBe(false);
      const unread = await inbox('reader', { unreadOnly: true, first: 2 });
      expect(unread.messages.nodes.map((node) => node.id)).toEqual([ids[0], ids[2]]);
      const next = await inbox('reader', {
        unreadOnly: true,
        after: unread.messages.pageInfo.endCursor,
      });
      expect(next.messages.nodes.map((node) => node.id)).toEqual([ids[3], ids[5]]);

      const upTo = await ok<{ markRead: { unreadCount: number } }>('reader', MARK_READ, {
        upTo: ids[3],
      });
      expect(upTo.markRead.unreadCount).toBe(1);
      expect((await inbox('reader', { unreadOnly: true })).messages.nodes.map((n) => n.id)).toEqual(
        [ids[5]],
      );

      // A feed that replays from the start carries the reader's read marks; a live push is unread.
      const ws = await connectWs(service.wsUrl, { authorization: `Bearer ${tokens.reader}` });
      const feed = new LiveSubscription(
        ws,
        `subscription ($after: ID) { mailboxMessages(mailbox: "reader", after: $after) { id read } }`,
        { after: '0' },
        (data) => data.mailboxMessages as { id: string; read: boolean },
      );
      try {
        await eventually(() => feed.values.length >= 6, 10_000);
        expect(feed.values.map((value) => value.read)).toEqual([
          true,
          true,
          true,
          true,
          true,
          false,
        ]);
        const live = await sendAs('planner', { mode: 'DIRECT', target: 'reader', content: 'new' });
        await eventually(() => feed.values.length >= 7, 10_000);
        expect(feed.values[6]).toEqual({ id: live, read: false });
      } finally {
        feed.unsubscribe();
        await ws.dispose();
      }
    });

    it('keeps read marks per reader for a broadcast', async () => {
      const id = await sendAs('planner', { mode: 'BROADCAST', content: 'all hands' });
      await ok('worker', MARK_READ, { ids: [id] });
      const read = async (who: string) =>
        (await inbox(who)).messages.nodes.find((node) => node.id === id)?.read;
      await expect(read('worker')).resolves.toBe(true);
      await expect(read('critic')).resolves.toBe(false);
    });

    it('refuses markRead without ids or upTo, for another mailbox, and by the admin without a mailbox', async () => {
      const nothing = await as('reader', MARK_READ, {});
      expect(nothing.errors?.[0]).toMatchObject({
        extensions: { code: 'BAD_USER_INPUT', field: 'messageIds' },
      });
      const other = await as('reader', MARK_READ, { mailbox: 'worker', upTo: '0'.repeat(26) });
      expect(other.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
      const admin = await as('admin', MARK_READ, { ids: [] });
      expect(admin.errors?.[0]).toMatchObject({
        extensions: { code: 'BAD_USER_INPUT', field: 'mailbox' },
      });
    });
  });

  it('answers a request with NO_RESPONDER when its DIRECT target cannot answer', async () => {
    const response = await as('planner', SEND, {
      input: { mode: 'DIRECT', target: 'nobody-here', content: 'ping', replyWithinSeconds: 5 },
    });
    expect(response.errors?.[0]).toMatchObject({
      extensions: { code: 'NO_RESPONDER', field: 'input.target' },
    });
  });
});
