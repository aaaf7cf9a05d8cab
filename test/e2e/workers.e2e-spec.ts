import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'graphql-ws';
import { MAILBOX_FEED, REGISTER, SEND } from '../utils/documents';
import {
  connectWs,
  eventually,
  graphql,
  graphqlOk,
  LiveSubscription,
} from '../utils/graphql-client';
import { RedisServer } from '../utils/redis-server';
import { runServiceOnBusyPort, runServiceToExit, ServiceProcess } from '../utils/service-process';

const SOCKETS = 6;

/** The processes whose parent is `pid` (field 4 of /proc/<pid>/stat). */
function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === pid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

/**
 * How long one request waits. A connection the supervisor hands to a worker in the instant that
 * worker is killed is never answered nor closed (Node's cluster module holds it; see
 * docs/operations/scaling.md): such a request ends at this timeout, as a client's would.
 */
const REQUEST_TIMEOUT_MS = 3_000;

/** A metric's value in Prometheus text, or NaN when absent. */
function metric(text: string, name: string): number {
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

/** A check of whether four requests in a row to `service` are answered without errors. */
function serves(service: ServiceProcess): () => Promise<boolean> {
  return async () => {
    try {
      for (let request = 0; request < 4; request += 1) {
        const answer = await graphql(
          service.baseUrl,
          '{ routerStatistics { messagesRouted } }',
          {},
          {},
          AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        );
        if (answer.errors !== undefined) return false;
      }
      return true;
    } catch {
      return false;
    }
  };
}

describe('WORKERS: several processes behind one port', () => {
  let redis: RedisServer;
  let service: ServiceProcess;
  const clients: Client[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await ServiceProcess.start({ REDIS_URL: redis.url, WORKERS: '2' });
    await graphqlOk(service.baseUrl, REGISTER, { name: 'many' });
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.dispose();
    await service?.stop();
    await redis?.destroy();
  });

  it('runs the workers under one supervisor, and every worker serves', async () => {
    await eventually(() => childPids(service.pid!).length === 2, 10_000);
    // The supervisor hands connections to the workers in turn, so six sockets land on both;
    // a message sent once reaches every socket, whichever worker holds it, exactly once.
    const feeds: Array<LiveSubscription<string>> = [];
    for (let index = 0; index < SOCKETS; index += 1) {
      const client = await connectWs(service.wsUrl);
      clients.push(client);
      feeds.push(
        new LiveSubscription(client, MAILBOX_FEED, { mailbox: 'many' }, (data) => {
          return (data.mailboxMessages as { content: string }).content;
        }),
      );
    }
    // Every feed is live once each socket is counted, on whichever worker holds it.
    await eventually(async () => {
      const text = await (await fetch(`${service.baseUrl}/metrics`)).text();
      return metric(text, 'mailbox_websocket_connections') === SOCKETS;
    }, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await graphqlOk(service.baseUrl, SEND, {
      input: { mode: 'DIRECT', sender: 'many', target: 'many', content: 'to every worker' },
    });
    for (const feed of feeds) expect(await feed.waitFor(1)).toEqual(['to every worker']);
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const feed of feeds) expect(feed.values).toHaveLength(1);
  });

  it('reports the whole process on /metrics, whichever worker a scrape reaches', async () => {
    // Process-wide sums and Redis-wide totals, the same on every scrape.
    for (let scrape = 0; scrape < 6; scrape += 1) {
      const text = await (await fetch(`${service.baseUrl}/metrics`)).text();
      expect(metric(text, 'mailbox_websocket_connections')).toBe(SOCKETS);
      expect(metric(text, 'mailbox_messages_routed_total')).toBeGreaterThanOrEqual(1);
      expect(metric(text, 'mailbox_router_statistics_up')).toBe(1);
      expect(text).toMatch(/^mailbox_background_job_up\{job="delivery-retry"\} 1$/m);
    }
  });

  it('starts another worker in place of one that dies, and keeps serving', async () => {
    const before = childPids(service.pid!);
    expect(before).toHaveLength(2);
    process.kill(before[0], 'SIGKILL');
    // Scraped all the while: the worker that is starting is not waited for. (A kept-alive
    // connection that the dead worker held is reset, and one handed to it as it died is never
    // answered: that scrape is tried again.)
    const statuses: number[] = [];
    const scraping = (async () => {
      for (const until = Date.now() + 6_000; Date.now() < until;) {
        try {
          const scrape = await fetch(`${service.baseUrl}/metrics`, {
            signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          });
          statuses.push(scrape.status);
        } catch {
          continue;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    await eventually(() => {
      const now = childPids(service.pid!);
      return now.length === 2 && !now.includes(before[0]);
    }, 15_000);
    await scraping;
    expect(statuses.length).toBeGreaterThan(2);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
    // Until a worker listens again (the one killed may have been the only one yet), the port
    // refuses connections.
    await eventually(serves(service), 15_000);
    expect(service.output.join('')).toContain(`died (SIGKILL): starting another`);
  }, 60_000);

  it('replaces a worker that dies while it starts, as one more death, and keeps serving', async () => {
    const before = childPids(service.pid!);
    expect(before).toHaveLength(2);
    process.kill(before[0], 'SIGKILL');
    // Its replacement is killed as soon as it appears, long before it can listen.
    let starting: number | undefined;
    await eventually(() => {
      starting = childPids(service.pid!).find((pid) => !before.includes(pid));
      return starting !== undefined;
    }, 15_000);
    process.kill(starting!, 'SIGKILL');
    await eventually(() => {
      const now = childPids(service.pid!);
      return now.length === 2 && !now.includes(before[0]) && !now.includes(starting!);
    }, 15_000).catch((error: Error) => {
      throw new Error(`${error.message}; the service said:\n${service.output.join('')}`);
    });
    await eventually(serves(service), 15_000);
    expect(service.output.join('')).toContain(`(pid ${starting}) died (SIGKILL): starting another`);
  });

  it('stops every worker on SIGTERM and exits 0', async () => {
    const workers = childPids(service.pid!);
    expect(await service.stop()).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe('WORKERS at start', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  afterAll(async () => {
    await redis.destroy();
  });

  it('finishes its shutdown when a second signal comes during it, and exits 0', async () => {
    const service = await ServiceProcess.start({
      REDIS_URL: redis.url,
      WORKERS: '1',
      LOG_LEVEL: 'log',
      // Serving on for a second after the first signal: the second comes within it.
      SHUTDOWN_DRAIN_DELAY: '1',
    });
    process.kill(service.pid!, 'SIGINT');
    await eventually(() => service.output.join('').includes('SIGINT: stopping within'), 5_000);
    expect(await service.stop('SIGINT')).toBe(0);
    expect(service.output.join('')).toContain('SIGINT: already stopping');
  });

  it('gives every worker the one generated admin token, shown once', async () => {
    const service = await ServiceProcess.start({
      AUTH_ENABLED: 'true',
      LOG_LEVEL: 'log',
      LOG_FORMAT: 'json',
      REDIS_URL: redis.url,
      WORKERS: '2',
    });
    try {
      const output = (): string => service.output.join('');
      await eventually(() => output().includes('admin token (generated'), 10_000);
      const tokens = [...output().matchAll(/adm_[A-Za-z0-9_-]{43}/g)].map((match) => match[0]);
      expect(new Set(tokens).size).toBe(1);
      expect(output().match(/"msg":"serving /g)).toHaveLength(1);
      expect(output()).toContain('workers 2 (supervisor pid');
      // New connections go to the workers in turn: both know the token.
      for (let request = 0; request < 6; request += 1) {
        const answer = await fetch(`${service.baseUrl}/metrics`, {
          headers: { authorization: `Bearer ${tokens[0]}`, connection: 'close' },
        });
        expect(answer.status).toBe(200);
      }
    } finally {
      await service.stop();
    }
  });

  it('ends a worker that meets an error nothing caught with one fatal line, hands on its connections, and starts another', async () => {
    // A bug on demand: the worker that gets SIGUSR2 throws where nothing catches it.
    const dir = mkdtempSync(join(tmpdir(), 'mailbox-crash-'));
    const preload = join(dir, 'crash-on-sigusr2.js');
    writeFileSync(
      preload,
      "process.on('SIGUSR2', () => setImmediate(() => { throw new Error('a bug, on purpose'); }));\n",
    );
    const service = await ServiceProcess.start({
      REDIS_URL: redis.url,
      WORKERS: '2',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'log',
      NODE_OPTIONS: `--require ${preload}`,
    });
    try {
      await eventually(() => childPids(service.pid!).length === 2, 10_000);
      const [victim] = childPids(service.pid!);
      // New connections all along, eight at a time: each is answered, by one worker or the
      // other; none is left waiting.
      const outcomes: string[] = [];
      const until = Date.now() + 4_000;
      const asking = Array.from({ length: 8 }, async () => {
        while (Date.now() < until) {
          try {
            const answer = await fetch(`${service.baseUrl}/health/live`, {
              headers: { connection: 'close' },
              signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
            });
            outcomes.push(String(answer.status));
          } catch (error) {
            outcomes.push((error as Error).name);
          }
        }
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      process.kill(victim, 'SIGUSR2');
      await Promise.all(asking);
      await eventually(() => {
        const now = childPids(service.pid!);
        return now.length === 2 && !now.includes(victim);
      }, 15_000);
      expect(outcomes.filter((outcome) => outcome === 'TimeoutError')).toEqual([]);
      expect(outcomes.filter((outcome) => outcome === '200').length).toBeGreaterThan(8);
      const output = service.output.join('');
      const fatal = output
        .split('\n')
        .filter((line) => line.includes('a bug, on purpose'))
        .map((line) => JSON.parse(line) as { level: number; context: string; msg: string });
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ level: 60, context: 'Crash' });
      expect(fatal[0].msg).toMatch(/^uncaught exception: exiting \(Error: a bug, on purpose\n/);
      expect(output).toContain(`(pid ${victim}) died (exit 1): starting another`);
      await eventually(serves(service), 15_000);
    } finally {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('ends a single process that meets an error nothing caught with one fatal line and exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mailbox-crash-'));
    const preload = join(dir, 'reject-on-sigusr2.js');
    writeFileSync(
      preload,
      "process.on('SIGUSR2', () => { void Promise.reject(new Error('a bug, on purpose')); });\n",
    );
    const service = await ServiceProcess.start({
      REDIS_URL: redis.url,
      WORKERS: '1',
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'log',
      NODE_OPTIONS: `--require ${preload}`,
    });
    try {
      const started = Date.now();
      process.kill(service.pid!, 'SIGUSR2');
      await eventually(() => {
        try {
          process.kill(service.pid!, 0);
          return false;
        } catch {
          return true;
        }
      }, 10_000);
      // It lived on for its second, to let requests under way finish.
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(await service.stop()).toBe(1);
      const fatal = service.output
        .join('')
        .split('\n')
        .filter((line) => line.includes('a bug, on purpose'))
        .map((line) => JSON.parse(line) as { level: number; context: string; msg: string });
      expect(fatal).toHaveLength(1);
      expect(fatal[0]).toMatchObject({ level: 60, context: 'Crash' });
      expect(fatal[0].msg).toMatch(/^unhandled rejection: exiting \(Error: a bug, on purpose\n/);
    } finally {
      await service.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits 1 with one line naming a busy port', async () => {
    const { code, output, port } = await runServiceOnBusyPort({
      WORKERS: '2',
      LOG_LEVEL: 'warn',
      REDIS_URL: redis.url,
      OUTAGE_SPOOL_DIR: 'off',
    });
    expect(code).toBe(1);
    expect(output).toBe(`port ${port} is already in use: stop what listens there or set PORT\n`);
  });

  it('refuses a WORKERS it cannot run, in one line', async () => {
    const { code, output } = await runServiceToExit({ WORKERS: '0', REDIS_URL: redis.url });
    expect(code).toBe(1);
    expect(output).toMatch(/^Invalid configuration: WORKERS="0": must be a whole number/);
  });
});
