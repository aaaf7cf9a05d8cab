import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { RedisServer } from '../utils/redis-server';
import { freePort } from '../utils/redis-server';
import { ServiceProcess } from '../utils/service-process';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');
const ADMIN = 'admin-token-for-tests-0123456789';

/** Runs dist/main.js to its exit; resolves with the exit code and everything it printed. */
function runToExit(
  environment: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('start-up and logs', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  afterAll(async () => {
    await redis.destroy();
  });

  it('logs JSON lines in production, one start block, and a request id on every request', async () => {
    const service = await ServiceProcess.start({
      NODE_ENV: 'production',
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      LOG_LEVEL: 'log',
      REDIS_URL: redis.url,
      OUTAGE_SPOOL_DIR: 'off',
    });
    const plain = await fetch(`${service.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({ query: '{ routerStatistics { running } }' }),
    });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const given = await fetch(`${service.baseUrl}/health/live`, {
      headers: { 'x-request-id': 'trace-42.a' },
    });
    expect(given.headers.get('x-request-id')).toBe('trace-42.a');
    expect(await service.stop()).toBe(0);

    const lines = service.output.join('').split('\n').filter(Boolean);
    const records = lines.map((line) => JSON.parse(line) as { msg: string; level: number });
    const starts = records.filter((record) => record.msg.startsWith('serving '));
    expect(starts).toHaveLength(1);
    expect(starts[0].msg).toContain(`redis ${redis.url}: answered`);
    expect(starts[0].msg).not.toContain('admin token');
    // Nest's narration of modules and routes is not part of a start.
    expect(records.some((record) => /dependencies initialized|Mapped \{/.test(record.msg))).toBe(
      false,
    );
  });

  it('names the generated admin token in the start block when ADMIN_TOKEN is unset', async () => {
    const service = await ServiceProcess.start({
      AUTH_ENABLED: 'true',
      LOG_LEVEL: 'log',
      LOG_FORMAT: 'json',
      REDIS_URL: redis.url,
      OUTAGE_SPOOL_DIR: 'off',
    });
    await service.stop();
    const start = service.output
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { msg: string })
      .find((record) => record.msg.startsWith('serving '));
    expect(start?.msg).toMatch(
      /admin token \(generated; valid until this process stops\): adm_\S{43}/,
    );
  });

  it('warns in one line that sends will queue when Redis does not answer at start', async () => {
    const silent = await freePort();
    const expected = `"msg":"Redis at redis://127.0.0.1:${silent} does not answer: sends are accepted and queued until it does`;
    const child = spawn(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH ?? '',
        PORT: String(await freePort()),
        LOG_LEVEL: 'warn',
        LOG_FORMAT: 'json',
        REDIS_URL: `redis://127.0.0.1:${silent}`,
        OUTAGE_SPOOL_DIR: 'off',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no warning within 15 s: ${output}`)),
        15_000,
      );
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes(expected)) {
          clearTimeout(timer);
          resolve();
        }
      });
    }).finally(() => child.kill('SIGKILL'));
    expect(
      output.split('\n').filter((line) => line.includes('does not answer: sends')),
    ).toHaveLength(1);
  });

  it('exits 1 with one line naming a busy port', async () => {
    const port = await freePort();
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '0.0.0.0', resolve));
    try {
      const { code, output } = await runToExit({
        PORT: String(port),
        LOG_LEVEL: 'warn',
        REDIS_URL: redis.url,
        OUTAGE_SPOOL_DIR: 'off',
      });
      expect(code).toBe(1);
      expect(output).toBe(`port ${port} is already in use: stop what listens there or set PORT\n`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
