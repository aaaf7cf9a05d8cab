import type { Client } from 'graphql-ws';
import WebSocket from 'ws';
import { directInput } from '../factories/messages';
import { connectWs, graphql, graphqlOk } from '../utils/graphql-client';
import { MESSAGE, SEND, type RouteView } from '../utils/documents';
import { RedisServer } from '../utils/redis-server';
import { registerMailboxes, subscribeMailbox } from '../utils/service';
import { startTestApp, type TestApp } from '../utils/test-app';

const MiB = 1024 * 1024;
const MAX_PAYLOAD = 15 * MiB;
const MAX_MESSAGE = 16 * MiB;

describe('size limits (defaults: 15 MiB content, 16 MiB message)', () => {
  let redisServer: RedisServer;
  let service: TestApp;
  let ws: Client;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    service = await startTestApp(redisServer.url);
    ws = await connectWs(service.wsUrl);
    await registerMailboxes(service.baseUrl, 'big', 'sender', 'meta');
  });

  afterAll(async () => {
    await ws.dispose();
    await service.close();
    await redisServer.destroy();
  });

  async function expectHealthy(): Promise<void> {
    const ready = await fetch(`${service.baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    const echo = await graphqlOk<{ mailbox: { name: string } }>(
      service.baseUrl,
      '{ mailbox(name: "big") { name } }',
    );
    expect(echo.mailbox.name).toBe('big');
  }

  it('accepts 15 MiB of content end to end, stores it whole and pushes it live', async () => {
    const feed = await subscribeMailbox(service, ws, 'big');
    // Multi-byte characters: the limit counts UTF-8 bytes, not characters.
    const content = 'é'.repeat(MAX_PAYLOAD / 2 - 8) + 'x'.repeat(16);
    expect(Buffer.byteLength(content)).toBe(MAX_PAYLOAD);
    const response = await graphql<{ sendMessage: RouteView }>(service.baseUrl, SEND, {
      input: directInput('sender', 'big', { content }),
    });
    expect(response.errors).toBeUndefined();
    const id = response.data!.sendMessage.messageId;
    expect(response.data!.sendMessage.status).toBe('SUCCESS');

    const read = await graphqlOk<{ message: { content: string } }>(service.baseUrl, MESSAGE, {
      id,
    });
    expect(read.message.content.length).toBe(content.length);
    expect(read.message.content === content).toBe(true);
    const [pushed] = await feed.waitFor(1, 20_000);
    expect(pushed.id).toBe(id);
    expect(pushed.content === content).toBe(true);
    feed.unsubscribe();
    await expectHealthy();
  });

  /** Bytes the test's Redis has sent its clients so far. */
  const redisOutputBytes = (): Promise<number> => redisServer.outputBytes();

  it('reads and answers at most 64 MiB of bodies in one operation, over HTTP and the WebSocket', async () => {
    const content = 'x'.repeat(14 * MiB);
    const { messageId } = (
      await graphqlOk<{ sendMessage: RouteView }>(service.baseUrl, SEND, {
        input: directInput('sender', 'big', { content }),
      })
    ).sendMessage;
    // Four copies fit (56 MiB); the fifth passes the limit and is refused by its path.
    const aliases = (count: number) =>
      `query Many($id: ID!) { ${Array.from(
        { length: count },
        (_, i) => `m${i}: message(id: $id) { id content }`,
      ).join(' ')} }`;
    const four = await graphqlOk<Record<string, { content: string }>>(service.baseUrl, aliases(4), {
      id: messageId,
    });
    expect(Object.values(four).map((each) => each.content.length)).toEqual(Array(4).fill(14 * MiB));
    // Twice over HTTP: the second answer comes from the compiled document.
    const overHttp = () =>
      graphql<Record<string, { content: string } | null>>(service.baseUrl, aliases(30), {
        id: messageId,
      });
    const before = await redisOutputBytes();
    const first = await overHttp();
    // Four bodies and the sizes of the others: not the 30 bodies (420 MiB) the aliases name.
    expect((await redisOutputBytes()) - before).toBeLessThan(5 * 14 * MiB);
    for (const answer of [
      first,
      await overHttp(),
      await new Promise<{ errors?: ReadonlyArray<{ extensions?: Record<string, unknown> }> }>(
        (resolve, reject) => {
          ws.subscribe(
            { query: aliases(30), variables: { id: messageId } },
            { next: resolve, error: reject, complete: () => undefined },
          );
        },
      ),
    ]) {
      expect(answer.errors?.[0].extensions).toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        field: 'm4',
        limit: 64 * MiB,
      });
    }
    await expectHealthy();
  });

  it('ends a page where its operation has read 64 MiB of bodies, and refuses the next field', async () => {
    for (let i = 0; i < 4; i++) {
      await graphqlOk(service.baseUrl, SEND, {
        input: directInput('sender', 'big', { content: `${i}`.repeat(14 * MiB) }),
      });
    }
    interface Page {
      mailbox: {
        messages: {
          nodes: Array<{ id: string; content: string }>;
          pageInfo: { hasNextPage: boolean; endCursor: string | null };
        };
      };
    }
    const page = (alias: string, after = '') =>
      `${alias}: mailbox(name: "big") { messages(first: 50${after}) { nodes { id content } pageInfo { hasNextPage endCursor } } }`;
    const before = await redisOutputBytes();
    const answer = await graphql<Record<string, Page['mailbox'] | null>>(
      service.baseUrl,
      `{ ${page('a')} ${page('b')} }`,
    );
    expect((await redisOutputBytes()) - before).toBeLessThan(70 * MiB);
    // The mailbox holds six bodies of 14 and 15 MiB: the first page takes four of them.
    const first = answer.data!.a!.messages;
    expect(first.nodes).toHaveLength(4);
    expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: first.nodes[3].id });
    expect(answer.data!.b).toBeNull();
    expect(answer.errors?.[0].extensions).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      field: 'b.messages',
      limit: 64 * MiB,
    });
    // The next operation goes on from endCursor and reads the rest.
    const rest = await graphqlOk<Page>(
      service.baseUrl,
      `{ ${page('mailbox', `, after: "${first.pageInfo.endCursor}"`)} }`,
    );
    expect(rest.mailbox.messages.nodes).toHaveLength(2);
    expect(rest.mailbox.messages.pageInfo.hasNextPage).toBe(false);
    await expectHealthy();
  });

  it('reads no bodies for a page that selects none: all six large messages in one page', async () => {
    const before = await redisOutputBytes();
    const { mailbox } = await graphqlOk<{
      mailbox: { messages: { nodes: Array<{ id: string }>; pageInfo: { hasNextPage: boolean } } };
    }>(
      service.baseUrl,
      `{ mailbox(name: "big") { messages(first: 50) { nodes { ...envelope } pageInfo { hasNextPage } } } }
       fragment envelope on Message { id sender subject createdAt }`,
    );
    expect((await redisOutputBytes()) - before).toBeLessThan(MiB);
    expect(mailbox.messages.nodes).toHaveLength(6);
    expect(mailbox.messages.pageInfo.hasNextPage).toBe(false);
    // preview reads the start of each body: Redis reads them whole (four fit in the 64 MiB)
    // and sends 640 bytes of each.
    const beforePreviews = await redisOutputBytes();
    const previews = await graphqlOk<{
      mailbox: {
        messages: {
          nodes: Array<{ preview: string; previewTruncated: boolean }>;
          pageInfo: { hasNextPage: boolean };
        };
      };
    }>(
      service.baseUrl,
      '{ mailbox(name: "big") { messages(first: 50) { nodes { preview previewTruncated } pageInfo { hasNextPage } } } }',
    );
    expect((await redisOutputBytes()) - beforePreviews).toBeLessThan(MiB);
    expect(
      previews.mailbox.messages.nodes.map(({ preview, previewTruncated }) => [
        preview.length,
        previewTruncated,
      ]),
    ).toEqual([
      [160, true],
      [160, true],
      [160, true],
      [160, true],
    ]);
    expect(previews.mailbox.messages.pageInfo.hasNextPage).toBe(true);
    // tokenEstimate is computed from the body: selecting it, in a fragment, reads them.
    const estimated = await graphql<{
      mailbox: { messages: { nodes: Array<{ id: string }> } };
    }>(
      service.baseUrl,
      `
        {
          mailbox(name: "big") {
            messages(first: 50) {
              nodes {
                id
                ...tokens
              }
            }
          }
        }
        fragment tokens on Message {
          ... on Message {
            tokenEstimate
          }
        }
      `,
    );
    expect(estimated.data?.mailbox.messages.nodes.length).toBeLessThan(6);
    await expectHealthy();
  });

  it('counts metadata as body: a page of messages with large metadata stops at 64 MiB too', async () => {
    const metadata = { blob: 'm'.repeat(14 * MiB) };
    for (let i = 0; i < 6; i++) {
      await graphqlOk(service.baseUrl, SEND, {
        input: directInput('sender', 'meta', { content: `${i}`, metadata }),
      });
    }
    const before = await redisOutputBytes();
    const { mailbox } = await graphqlOk<{
      mailbox: { messages: { nodes: Array<{ id: string }>; pageInfo: { hasNextPage: boolean } } };
    }>(
      service.baseUrl,
      '{ mailbox(name: "meta") { messages(first: 50) { nodes { id } pageInfo { hasNextPage } } } }',
    );
    expect((await redisOutputBytes()) - before).toBeLessThan(70 * MiB);
    expect(mailbox.messages.nodes).toHaveLength(4);
    expect(mailbox.messages.pageInfo.hasNextPage).toBe(true);
    await expectHealthy();
  });

  it('refuses one byte more with PAYLOAD_TOO_LARGE naming the field and the limit', async () => {
    const content = 'x'.repeat(MAX_PAYLOAD + 1);
    const response = await graphql(service.baseUrl, SEND, {
      input: directInput('sender', 'big', { content }),
    });
    expect(response.data).toBeNull();
    expect(response.errors?.[0].extensions).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      field: 'input.content',
      limit: MAX_PAYLOAD,
    });
    expect(response.errors?.[0].message).toContain(String(MAX_PAYLOAD));
    await expectHealthy();
  });

  it('refuses a message whose fields together pass 16 MiB', async () => {
    const content = 'x'.repeat(MAX_PAYLOAD);
    const metadata = { blob: 'y'.repeat(MiB) };
    const response = await graphql(service.baseUrl, SEND, {
      input: directInput('sender', 'big', { content, metadata }),
    });
    expect(response.errors?.[0].extensions).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      field: 'input.message',
      limit: MAX_MESSAGE,
    });
    await expectHealthy();
  });

  it('refuses a 17 MiB request body cleanly, as a GraphQL error', async () => {
    const body = JSON.stringify({
      query: SEND,
      variables: { input: directInput('sender', 'big', { content: 'x'.repeat(17 * MiB) }) },
    });
    const response = await fetch(`${service.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(413);
    const json = (await response.json()) as {
      errors: Array<{ message: string; extensions: Record<string, unknown> }>;
    };
    expect(json.errors[0].extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'body' });
    expect(json.errors[0].message).toMatch(/exceeds the limit of \d+ bytes/);
    await expectHealthy();
  });

  it('closes a WebSocket that sends a frame over the limit, and keeps serving', async () => {
    const socket = new WebSocket(service.wsUrl, 'graphql-transport-ws');
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send('x'.repeat(MAX_MESSAGE + 128 * 1024));
    // 1009: message too big.
    expect(await closed).toBe(1009);
    await expectHealthy();
  });
});
