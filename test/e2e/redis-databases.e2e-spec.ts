import type { Client } from 'graphql-ws';
import { directInput } from '../factories/messages';
import { connectWs, graphqlOk } from '../utils/graphql-client';
import { RedisServer } from '../utils/redis-server';
import { mailboxChannel, registerMailboxes, send, subscribeMailbox } from '../utils/service';
import { startTestApp, uniquePrefix, type TestApp } from '../utils/test-app';

/**
 * Two deployments on one Redis, told apart by the database their REDIS_URL selects and
 * nothing else (the same key prefix, the same mailbox names). Keys live in each database,
 * but Redis hears a PUBLISH on every database: the channels must be named apart too.
 */
describe('deployments on two databases of one Redis', () => {
  let redis: RedisServer;
  let one: TestApp;
  let two: TestApp;
  let ws: Client;

  beforeAll(async () => {
    redis = await RedisServer.start();
    const environment = { REDIS_KEY_PREFIX: uniquePrefix() };
    one = await startTestApp(`${redis.url}/1`, environment);
    two = await startTestApp(`${redis.url}/2`, environment);
    await registerMailboxes(one.baseUrl, 'alice', 'bob');
    await registerMailboxes(two.baseUrl, 'alice', 'bob');
    ws = await connectWs(two.wsUrl);
  });

  afterAll(async () => {
    await ws?.dispose();
    await one?.close();
    await two?.close();
    await redis?.stop();
  });

  it('names each deployment channels of its own', () => {
    expect(mailboxChannel(one, 'bob')).not.toBe(mailboxChannel(two, 'bob'));
    expect(mailboxChannel(two, 'bob')).toBe(`${two.prefix}db2:mailbox:{bob}:feed`);
  });

  it("keeps one database's messages and presence out of the other's feeds", async () => {
    const feed = await subscribeMailbox(two, ws, 'bob');
    const online = (app: TestApp) =>
      graphqlOk<{ mailbox: { online: boolean } }>(
        app.baseUrl,
        '{ mailbox(name: "bob") { online } }',
      );
    expect((await online(two)).mailbox.online).toBe(true);
    expect((await online(one)).mailbox.online).toBe(false);

    const elsewhere = await send(one.baseUrl, directInput('alice', 'bob', { content: 'db 1' }));
    expect(elsewhere.status).toBe('QUEUED');
    const here = await send(two.baseUrl, directInput('alice', 'bob', { content: 'db 2' }));
    expect(here.status).toBe('SUCCESS');
    const [received] = await feed.waitFor(1, 10_000);
    expect(received.id).toBe(here.messageId);
    // Anything from database 1 would have been pushed before database 2's message.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(feed.values.map((message) => message.content)).toEqual(['db 2']);
  });
});
