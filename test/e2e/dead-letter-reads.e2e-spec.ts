import type { Client } from 'graphql-ws';
import {
  connectWs,
  eventually,
  graphql,
  graphqlOk,
  LiveSubscription,
} from '../utils/graphql-client';
import { startRedisBackend, type RedisBackend } from '../utils/redis-backend';
import { mailboxChannel, registerMailboxes, waitForListeners } from '../utils/service';
import { startTestApp, type TestApp } from '../utils/test-app';

// deadLetters reads its messages as a page does (OperationBodyReads('page')): a selection of
// the message without a field of its body reads no content and counts none against the 64 MiB
// an operation may read, so dead letters of large messages hide none of the others from it.

const MB15 = 15 * 1024 * 1024;
const SEND = `mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { messageId } }`;
const STATUS = `query Status($id: ID!) { deliveryStatus(messageId: $id) { status } }`;
const FEED = `subscription Feed($mailbox: String!) { mailboxMessages(mailbox: $mailbox) { id } }`;

describe('deadLetters reads of bodies', () => {
  let backend: RedisBackend;
  let service: TestApp;
  /** The dead letters of "deaf", newest first: five of 15 MiB, then a small one. */
  let newestFirst: string[];

  /** Bytes Redis has sent its clients so far. */
  async function redisOutput(): Promise<number> {
    const [node] = await backend.primaryClients();
    try {
      return Number(/total_net_output_bytes:(\d+)/.exec(await node.info('stats'))?.[1]);
    } finally {
      node.disconnect();
    }
  }

  /** The ids deadLetters answers for the message selection, and the bytes Redis sent for it. */
  async function listed(selection: string): Promise<{ ids: string[]; bytes: number }> {
    const before = await redisOutput();
    const { deadLetters } = await graphqlOk<{ deadLetters: Array<{ message: { id: string } }> }>(
      service.baseUrl,
      `{ deadLetters(mailbox: "deaf", first: 10) { mailbox reason message { id ${selection} } } }`,
    );
    return {
      ids: deadLetters.map((letter) => letter.message.id),
      bytes: (await redisOutput()) - before,
    };
  }

  beforeAll(async () => {
    backend = await startRedisBackend();
    service = await startTestApp(backend, {
      ROUTER_MAX_RETRY_ATTEMPTS: '1',
      ROUTER_BASE_RETRY_DELAY: '0.1',
      ROUTER_RETRY_CHECK_INTERVAL: '0.05',
      ROUTER_RETRY_JITTER: 'false',
    });
    await registerMailboxes(service.baseUrl, 'planner', 'deaf');
    // A subscriber that never confirms: each delivery becomes a dead letter, one after another.
    const ws: Client = await connectWs(service.wsUrl);
    const feed = new LiveSubscription(ws, FEED, { mailbox: 'deaf' }, (data) => data);
    await waitForListeners(service, mailboxChannel(service, 'deaf'), 1);
    const contents = ['small', ...[1, 2, 3, 4, 5].map((n) => `${n} `.padEnd(MB15, 'x'))];
    const ids: string[] = [];
    for (const content of contents) {
      const { sendMessage } = await graphqlOk<{ sendMessage: { messageId: string } }>(
        service.baseUrl,
        SEND,
        {
          input: {
            sender: 'planner',
            mode: 'DIRECT',
            target: 'deaf',
            content,
            requireConfirmation: true,
          },
        },
      );
      const id = sendMessage.messageId;
      await eventually(async () => {
        const { deliveryStatus } = await graphqlOk<{ deliveryStatus: Array<{ status: string }> }>(
          service.baseUrl,
          STATUS,
          { id },
        );
        return deliveryStatus[0]?.status === 'FAILED';
      }, 15_000);
      ids.push(id);
    }
    feed.unsubscribe();
    await ws.dispose();
    newestFirst = ids.reverse();
  }, 120_000);

  afterAll(async () => {
    await service?.close();
    await backend?.destroy();
  });

  it('answers every dead letter, and reads no content, for a selection without a body field', async () => {
    const { ids, bytes } = await listed('subject sender threadId');
    expect(ids).toEqual(newestFirst);
    expect(bytes).toBeLessThan(1024 * 1024);
  });

  it('has Redis send only the start of each body for preview, and counts each body whole', async () => {
    const { ids, bytes } = await listed('preview previewTruncated');
    // Four bodies of 15 MiB are 60 MiB; a fifth would pass 64.
    expect(ids).toEqual(newestFirst.slice(0, 4));
    expect(bytes).toBeLessThan(1024 * 1024);
  });

  it('goes on past the read limit from the last dead letter answered, with before', async () => {
    const page = async (before: string | null) =>
      (
        await graphqlOk<{ deadLetters: Array<{ cursor: string; message: { id: string } }> }>(
          service.baseUrl,
          `query Page($before: String) {
            deadLetters(mailbox: "deaf", first: 10, before: $before) { cursor message { id tokenEstimate } }
          }`,
          { before },
        )
      ).deadLetters;
    const first = await page(null);
    expect(first.map((letter) => letter.message.id)).toEqual(newestFirst.slice(0, 4));
    const rest = await page(first[3].cursor);
    expect(rest.map((letter) => letter.message.id)).toEqual(newestFirst.slice(4));
    expect(await page(rest.at(-1)!.cursor)).toEqual([]);
    for (const before of ['x', `1|deaf|${'U'.repeat(26)}`, `1|bad name|${newestFirst[0]}`]) {
      const refused = await graphql(
        service.baseUrl,
        `
          query Page($before: String) {
            deadLetters(first: 1, before: $before) {
              cursor
            }
          }
        `,
        { before },
      );
      expect(refused.errors?.[0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'before',
      });
    }
  });

  it('reads and counts each body whole for content or tokenEstimate', async () => {
    for (const selection of ['content', 'tokenEstimate']) {
      const { ids, bytes } = await listed(selection);
      expect({ selection, ids }).toEqual({ selection, ids: newestFirst.slice(0, 4) });
      expect(bytes).toBeGreaterThan(4 * MB15);
    }
  });
});
