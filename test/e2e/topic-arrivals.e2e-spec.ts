import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REGISTER, SEND } from '../utils/documents';
import { waitForEmptyOutageQueue } from '../utils/fault-helpers';
import { eventually, graphql } from '../utils/graphql-client';
import { connectMcp, type AgentMessage, type ToolResult } from '../utils/mcp-client';
import { RedisServer } from '../utils/redis-server';
import { startTestApp, uniquePrefix, type TestApp } from '../utils/test-app';

const ADMIN = 'admin-token-for-arrival-tests-0123';

interface Reading {
  messages: AgentMessage[];
  next_cursor: string;
  more: boolean;
}

interface Sent {
  messageId: string;
  status: string;
}

/**
 * A topic message is stored after later ones when its send was slow, came from an instance
 * whose clock is behind, or waited in an instance's outage queue: its id (made when it was
 * sent) is then older than theirs. read_topic's cursor is a place in the order messages were
 * stored, so a reading that goes on from it still gets such a message, once.
 */
describe('read_topic after a cursor: a message stored late, with an older id', () => {
  let redis: RedisServer;
  let reader: TestApp;
  let spooling: TestApp | undefined;
  let watcher: Client;
  const spool = mkdtempSync(join(tmpdir(), 'mailbox-spool-'));
  const environment = {
    AUTH_ENABLED: 'true',
    ADMIN_TOKEN: ADMIN,
    REDIS_KEY_PREFIX: uniquePrefix(),
    RATE_LIMIT_PER_MINUTE: '0',
  };
  const tokens: Record<string, string> = {};

  async function read(topic: string, after?: string): Promise<Reading> {
    const result = (await watcher.callTool({
      name: 'read_topic',
      arguments: after === undefined ? { topic } : { topic, after },
    })) as ToolResult;
    if (result.isError) throw new Error(`read_topic failed: ${result.content[0]?.text}`);
    return result.structuredContent as unknown as Reading;
  }

  async function send(app: TestApp, target: string, content: string): Promise<Sent> {
    const answer = await graphql<{ sendMessage: Sent }>(
      app.baseUrl,
      SEND,
      { input: { mode: 'TOPIC', target, content } },
      { authorization: `Bearer ${tokens.planner}` },
    );
    if (answer.errors !== undefined) throw new Error(JSON.stringify(answer.errors));
    return answer.data!.sendMessage;
  }

  async function ready(app: TestApp): Promise<number> {
    return (await fetch(`${app.baseUrl}/health/ready`)).status;
  }

  beforeAll(async () => {
    redis = await RedisServer.start({ appendfsync: 'always' });
    reader = await startTestApp(redis.url, environment);
    spooling = await startTestApp(redis.url, { ...environment, OUTAGE_SPOOL_DIR: spool });
    for (const name of ['planner', 'watcher']) {
      const answer = await graphql<{ registerMailbox: { token: string } }>(
        reader.baseUrl,
        REGISTER,
        { name },
        { authorization: `Bearer ${ADMIN}` },
      );
      tokens[name] = answer.data!.registerMailbox.token;
    }
    watcher = await connectMcp(reader.baseUrl, tokens.watcher, { name: 'arrivals-e2e' });
  }, 60_000);

  afterAll(async () => {
    await watcher?.close().catch(() => undefined);
    await spooling?.close();
    await reader?.close();
    await redis?.destroy();
    rmSync(spool, { recursive: true, force: true });
  });

  it('gives a message an instance stored from its outage spool after a later one was read', async () => {
    // The spooling instance has seen the planner's token: it may queue the planner's sends
    // while Redis is away.
    await send(spooling!, 'build.log', 'before');
    const first = await read('build.#');
    expect(first.messages.map((message) => message.body)).toEqual(['before']);
    const firstLog = await read('build.log');
    expect(firstLog.messages.map((message) => message.body)).toEqual(['before']);

    // Redis goes away: the spooling instance queues a send, and stops with it on disk.
    await redis.stop();
    await eventually(async () => (await ready(spooling!)) === 503, 5_000);
    const late = await send(spooling!, 'build.log', 'sent first, stored last');
    expect(late.status).toBe('QUEUED');
    await spooling!.close();
    spooling = undefined;

    // Redis is back: a later send, to another topic, is stored and read.
    await redis.start();
    await eventually(async () => (await ready(reader)) === 200, 15_000);
    const early = await send(reader, 'build.status', 'sent second, stored first');
    expect(early.messageId > late.messageId).toBe(true);
    const second = await read('build.#', first.next_cursor);
    expect(second.messages.map((message) => message.body)).toEqual(['sent second, stored first']);
    expect((await read('build.log', firstLog.next_cursor)).messages).toEqual([]);

    // The spooling instance comes back and stores the queued send, with its older id.
    spooling = await startTestApp(redis.url, { ...environment, OUTAGE_SPOOL_DIR: spool });
    await waitForEmptyOutageQueue(spooling.baseUrl, { authorization: `Bearer ${ADMIN}` });

    // Every reading that goes on from where it was gets it, once: across topics too, though
    // its topic had nothing newer than what was read.
    for (const [topic, cursor] of [
      ['build.#', second.next_cursor],
      ['build.log', firstLog.next_cursor],
      // A message id as the cursor: what was stored after that message.
      ['build.*', early.messageId],
    ]) {
      const third = await read(topic, cursor);
      expect(third.messages.map((message) => message.message_id)).toEqual([late.messageId]);
      expect(third.more).toBe(false);
      expect((await read(topic, third.next_cursor)).messages).toEqual([]);
    }
    // The newest, by id, put it before the later send.
    const newest = await read('build.#');
    expect(newest.messages.map((message) => message.body)).toEqual([
      'before',
      'sent first, stored last',
      'sent second, stored first',
    ]);
  });
});
