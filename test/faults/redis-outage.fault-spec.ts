import type { Client } from 'graphql-ws';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAILBOX_FEED, type MessageView } from '../utils/documents';
import { mailboxIds, sendLoad, waitForEmptyOutageQueue } from '../utils/fault-helpers';
import { connectWs, eventually, LiveSubscription } from '../utils/graphql-client';
import { RedisServer } from '../utils/redis-server';
import { registerMailboxes } from '../utils/service';
import { ServiceProcess } from '../utils/service-process';
import { uniquePrefix } from '../utils/test-app';

async function status(baseUrl: string, path: string): Promise<number> {
  return (await fetch(`${baseUrl}${path}`)).status;
}

/** The sends in the spool files of a directory (each instance writes a file of its own). */
function spooledSends(dir: string): number {
  return readdirSync(dir)
    .filter((name) => /^outage-queue\..*\.jsonl$/.test(name))
    .flatMap((name) => readFileSync(join(dir, name), 'utf8').split('\n'))
    .filter((line) => line !== '').length;
}

describe('Redis faults under load', () => {
  jest.setTimeout(180_000);

  it('keeps every acknowledged send of 10,000 through a kill -9 of Redis (appendfsync always), none twice', async () => {
    const redis = await RedisServer.start({ appendfsync: 'always' });
    const service = await ServiceProcess.start({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix(),
      OUTAGE_QUEUE_SIZE: '20000',
    });
    try {
      await registerMailboxes(service.baseUrl, 'load', 'sink');
      let killed = false;
      const outcomes = await sendLoad(service.baseUrl, 'load', 'sink', 10_000, 32, (sent) => {
        if (sent === 3_000 && !killed) {
          killed = true;
          void redis
            .kill()
            .then(() => new Promise((resolve) => setTimeout(resolve, 1_000)))
            .then(() => redis.start());
        }
      });
      expect(killed).toBe(true);
      const acknowledged = outcomes.filter((outcome) => outcome.messageId !== null);
      // Nothing hangs or fails while Redis is away: the local queue takes the sends.
      expect(acknowledged.length).toBe(10_000);
      expect(acknowledged.some((outcome) => outcome.status === 'QUEUED')).toBe(true);

      await eventually(
        async () => (await status(service.baseUrl, '/health/ready')) === 200,
        30_000,
      );
      await waitForEmptyOutageQueue(service.baseUrl);
      const stored = await mailboxIds(service.baseUrl, 'sink');
      const storedIds = new Set(stored.map((message) => message.id));
      for (const outcome of acknowledged)
        expect(storedIds.has(outcome.messageId as string)).toBe(true);
      // None twice: one stored message per send, each content once.
      expect(stored.length).toBe(acknowledged.length);
      expect(new Set(stored.map((message) => message.content)).size).toBe(stored.length);
    } finally {
      await service.stop();
      await redis.destroy();
    }
  });

  it('queues sends while Redis is stopped for 10 s, says so in readiness, and delivers them in order after', async () => {
    const redis = await RedisServer.start({ appendfsync: 'everysec' });
    const service = await ServiceProcess.start({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix(),
    });
    const ws: Client = await connectWs(service.wsUrl);
    try {
      await registerMailboxes(service.baseUrl, 'talker', 'listener');
      // The instance's own channels (revocations, deletions) come before the feed's.
      const channels = async (): Promise<number> =>
        Number(
          /^mailbox_subscribed_channels (\d+)$/m.exec(
            await (await fetch(`${service.baseUrl}/metrics`)).text(),
          )?.[1] ?? NaN,
        );
      const channelsBefore = await channels();
      const feed = new LiveSubscription<MessageView>(
        ws,
        MAILBOX_FEED,
        { mailbox: 'listener' },
        (data) => data.mailboxMessages as MessageView,
      );
      await eventually(async () => (await channels()) === channelsBefore + 1);

      const before = await sendLoad(service.baseUrl, 'talker', 'listener', 20, 1);
      await redis.stop();
      const stoppedAt = Date.now();
      await eventually(async () => (await status(service.baseUrl, '/health/ready')) === 503, 5_000);
      expect(await status(service.baseUrl, '/health/live')).toBe(200);
      const during: typeof before = [];
      while (Date.now() - stoppedAt < 10_000) {
        during.push(...(await sendLoad(service.baseUrl, 'talker', 'listener', 10, 1)));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(during.length).toBeGreaterThan(50);
      expect(during.every((outcome) => outcome.status === 'QUEUED')).toBe(true);
      expect(await status(service.baseUrl, '/health/ready')).toBe(503);

      await redis.start();
      await eventually(
        async () => (await status(service.baseUrl, '/health/ready')) === 200,
        30_000,
      );
      await waitForEmptyOutageQueue(service.baseUrl);
      const sent = [...before, ...during].map((outcome) => outcome.messageId);
      // Sent one at a time: stored in send order.
      const stored = (await mailboxIds(service.baseUrl, 'listener')).map((message) => message.id);
      expect(stored).toEqual(sent);
      // The live subscriber got every one of them, once.
      const received = await feed.waitFor(sent.length, 30_000);
      expect(new Set(received.map((message) => message.id))).toEqual(new Set(sent));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(feed.values).toHaveLength(sent.length);
    } finally {
      await ws.dispose();
      await service.stop();
      await redis.destroy();
    }
  });

  it('keeps the local queue on disk across a restart of the service (OUTAGE_SPOOL_DIR)', async () => {
    const redis = await RedisServer.start({ appendfsync: 'everysec' });
    const spool = mkdtempSync(join(tmpdir(), 'mailbox-spool-'));
    const environment = {
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix(),
      OUTAGE_SPOOL_DIR: spool,
    };
    let service = await ServiceProcess.start(environment);
    try {
      await registerMailboxes(service.baseUrl, 'writer', 'reader');
      await redis.stop();
      await eventually(async () => (await status(service.baseUrl, '/health/ready')) === 503, 5_000);
      const queued = await sendLoad(service.baseUrl, 'writer', 'reader', 50, 4);
      expect(queued.every((outcome) => outcome.status === 'QUEUED')).toBe(true);
      // Stopped while Redis is still down: the queue cannot be flushed, it stays spooled.
      expect(await service.stop('SIGTERM')).toBe(0);
      expect(spooledSends(spool)).toBe(50);

      await redis.start();
      service = await ServiceProcess.start(environment);
      await waitForEmptyOutageQueue(service.baseUrl);
      const stored = new Set(
        (await mailboxIds(service.baseUrl, 'reader')).map((message) => message.id),
      );
      for (const outcome of queued) expect(stored.has(outcome.messageId as string)).toBe(true);
      expect(stored.size).toBe(50);
      expect(spooledSends(spool)).toBe(0);
    } finally {
      await service.stop();
      await redis.destroy();
      rmSync(spool, { recursive: true, force: true });
    }
  });

  it('keeps QUEUED sends through a kill -9 of the service by default, in .data/spool under its working directory', async () => {
    const redis = await RedisServer.start({ appendfsync: 'always' });
    const workingDirectory = mkdtempSync(join(tmpdir(), 'mailbox-cwd-'));
    // No OUTAGE_SPOOL_DIR: the default applies.
    const environment = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: uniquePrefix() };
    let service = await ServiceProcess.start(environment, { cwd: workingDirectory });
    try {
      await registerMailboxes(service.baseUrl, 'writer', 'reader');
      await redis.stop();
      await eventually(async () => (await status(service.baseUrl, '/health/ready')) === 503, 5_000);
      const queued = await sendLoad(service.baseUrl, 'writer', 'reader', 20, 4);
      expect(queued.every((outcome) => outcome.status === 'QUEUED')).toBe(true);
      // A crash: no shutdown hook runs, the lock of the dead process stays behind.
      await service.kill();
      expect(spooledSends(join(workingDirectory, '.data', 'spool'))).toBe(20);

      await redis.start();
      service = await ServiceProcess.start(environment, { cwd: workingDirectory });
      await waitForEmptyOutageQueue(service.baseUrl);
      const stored = new Set(
        (await mailboxIds(service.baseUrl, 'reader')).map((message) => message.id),
      );
      for (const outcome of queued) expect(stored.has(outcome.messageId as string)).toBe(true);
      expect(stored.size).toBe(20);
      expect(spooledSends(join(workingDirectory, '.data', 'spool'))).toBe(0);
    } finally {
      await service.stop();
      await redis.destroy();
      rmSync(workingDirectory, { recursive: true, force: true });
    }
  });

  it('fails fast and queues while Redis hangs (SIGSTOP), then recovers on SIGCONT', async () => {
    const redis = await RedisServer.start();
    const service = await ServiceProcess.start({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: uniquePrefix(),
      REDIS_COMMAND_TIMEOUT: '1',
    });
    try {
      await registerMailboxes(service.baseUrl, 'a', 'b');
      redis.pause();
      await eventually(
        async () => (await status(service.baseUrl, '/health/ready')) === 503,
        10_000,
      );
      const started = Date.now();
      const queued = await sendLoad(service.baseUrl, 'a', 'b', 20, 4);
      expect(queued.every((outcome) => outcome.status === 'QUEUED')).toBe(true);
      const read = await fetch(`${service.baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ mailbox(name: "b") { name } }' }),
      });
      const body = (await read.json()) as { errors: Array<{ extensions: { code: string } }> };
      expect(body.errors[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
      // Fail fast: twenty sends and a read while Redis hangs, well inside one command timeout each.
      expect(Date.now() - started).toBeLessThan(5_000);
      redis.resume();
      await eventually(
        async () => (await status(service.baseUrl, '/health/ready')) === 200,
        15_000,
      );
      await waitForEmptyOutageQueue(service.baseUrl);
      expect((await mailboxIds(service.baseUrl, 'b')).length).toBe(20);
    } finally {
      redis.resume();
      await service.stop();
      await redis.destroy();
    }
  });
});
