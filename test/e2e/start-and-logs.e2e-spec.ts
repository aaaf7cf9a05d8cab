import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import { RedisServer } from '../utils/redis-server';
import { freePort } from '../utils/redis-server';
import { runServiceOnBusyPort, ServiceProcess } from '../utils/service-process';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');
const ADMIN = 'admin-token-for-tests-0123456789';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface LogRecord {
  msg: string;
  level: number;
  context?: string;
  reqId?: string;
}

/** The JSON log lines a service process printed. */
function logRecords(service: ServiceProcess): LogRecord[] {
  return service.output
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogRecord);
}

/**
 * A graphql-transport-ws socket spoken by hand, so that the test chooses the upgrade's
 * headers and the message ids; resolves once open, with the `x-request-id` it was answered.
 */
async function openSocket(
  url: string,
  headers: Record<string, string>,
): Promise<{ socket: WebSocket; answeredId: string | undefined }> {
  const socket = new WebSocket(url, 'graphql-transport-ws', { headers });
  const opened = once(socket, 'open');
  const [response] = (await once(socket, 'upgrade')) as [IncomingMessage];
  await opened;
  const answeredId = response.headers['x-request-id'];
  return { socket, answeredId: Array.isArray(answeredId) ? answeredId[0] : answeredId };
}

/** The next message of `type` on `socket`; rejects if the socket closes first. */
function nextMessage(socket: WebSocket, type: string): Promise<{ id?: string; payload?: unknown }> {
  return new Promise((resolve, reject) => {
    const onClose = (code: number): void => reject(new Error(`closed with ${code}`));
    // ws hands over each frame as one Buffer unless told otherwise.
    const onMessage = (data: Buffer): void => {
      const message = JSON.parse(data.toString()) as {
        type: string;
        id?: string;
        payload?: unknown;
      };
      if (message.type !== type) return;
      socket.off('message', onMessage);
      socket.off('close', onClose);
      resolve(message);
    };
    socket.on('message', onMessage);
    socket.once('close', onClose);
  });
}

describe('start-up and logs', () => {
  let redis: RedisServer;

  /** A service in production, logging JSON at `log`, on the suite's Redis. */
  const production = (): Record<string, string> => ({
    NODE_ENV: 'production',
    AUTH_ENABLED: 'true',
    ADMIN_TOKEN: ADMIN,
    LOG_LEVEL: 'log',
    REDIS_URL: redis.url,
    OUTAGE_SPOOL_DIR: 'off',
  });

  beforeAll(async () => {
    redis = await RedisServer.start();
  });

  afterAll(async () => {
    await redis.destroy();
  });

  it('logs JSON lines in production, one start block, and a request id on every request', async () => {
    const service = await ServiceProcess.start(production());
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
    // An id that could break a header or a log line is replaced, not echoed.
    const insane = await fetch(`${service.baseUrl}/health/live`, {
      headers: { 'x-request-id': 'two words' },
    });
    expect(insane.headers.get('x-request-id')).toMatch(UUID);
    expect(await service.stop()).toBe(0);

    const records = logRecords(service);
    const starts = records.filter((record) => record.msg.startsWith('serving '));
    expect(starts).toHaveLength(1);
    expect(starts[0].msg).toContain(`redis ${redis.url}: answered`);
    expect(starts[0].msg).toMatch(
      /MCP http:\/\/localhost:\d+\/mcp, console http:\/\/localhost:\d+\/console /,
    );
    expect(starts[0].msg).not.toContain('admin token');
    // Nest's narration of modules and routes is not part of a start.
    expect(records.some((record) => /dependencies initialized|Mapped \{/.test(record.msg))).toBe(
      false,
    );
  });

  it('logs nothing as an error when a client drops its request mid-body', async () => {
    const service = await ServiceProcess.start(production());
    for (let i = 0; i < 3; i++) {
      const socket = connect(Number(new URL(service.baseUrl).port), '127.0.0.1');
      await once(socket, 'connect');
      socket.write(
        'POST /graphql HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n' +
          'content-length: 1000\r\n\r\n{"query":',
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
    }
    const ready = await fetch(`${service.baseUrl}/health/ready`);
    expect(ready.status).toBe(200);
    expect(await service.stop()).toBe(0);
    // pino's levels: 50 is error, 60 fatal.
    expect(logRecords(service).filter((record) => record.level >= 50)).toEqual([]);
  });

  it('gives each WebSocket connection and subscription a request id, and logs it as reqId', async () => {
    const service = await ServiceProcess.start({
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      LOG_LEVEL: 'debug',
      LOG_FORMAT: 'json',
      REDIS_URL: redis.url,
      OUTAGE_SPOOL_DIR: 'off',
    });
    try {
      // A bad token: the connection is refused, and the line about it names the client's id.
      const refused = await openSocket(service.wsUrl, { 'x-request-id': 'abc-123' });
      expect(refused.answeredId).toBe('abc-123');
      const refusedClose = once(refused.socket, 'close');
      refused.socket.send(
        JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer wrong' } }),
      );
      expect((await refusedClose)[0]).toBe(4403);

      // A good token, then a subscription the service refuses: its id is the connection's
      // and the client's message id.
      const accepted = await openSocket(service.wsUrl, { 'x-request-id': 'abc-124' });
      const acknowledged = nextMessage(accepted.socket, 'connection_ack');
      accepted.socket.send(
        JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${ADMIN}` } }),
      );
      await acknowledged;
      const refusal = nextMessage(accepted.socket, 'error');
      accepted.socket.send(
        JSON.stringify({
          id: 'sub-1',
          type: 'subscribe',
          payload: { query: 'subscription { noSuchFeed }' },
        }),
      );
      expect(await refusal).toMatchObject({ id: 'sub-1' });
      accepted.socket.close();

      // No id, or one that could break a header or a log line: a new one, echoed.
      const generated = await openSocket(service.wsUrl, { 'x-request-id': 'two words' });
      expect(generated.answeredId).toMatch(UUID);
      generated.socket.close();
    } finally {
      await service.stop();
    }

    const records = logRecords(service).filter((record) => record.context === 'GraphqlWsServer');
    const byId = (reqId: string): string[] =>
      records.filter((record) => record.reqId === reqId).map((record) => record.msg);
    expect(byId('abc-123')).toEqual([
      expect.stringMatching(/^WebSocket refused \(4403\): authorization: the token is not valid/),
    ]);
    expect(byId('abc-124:sub-1')).toEqual([
      expect.stringMatching(/^subscription refused: .*noSuchFeed/),
    ]);
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
    // The warning comes once the first connection attempt has failed, after the service has
    // started: seconds alone, longer while the whole suite loads both cores.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no warning within 40 s: ${output}`)),
        40_000,
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
  }, 60_000);

  it('answers on IPv6 as on IPv4: a client whose localhost is ::1 reaches it', async () => {
    const service = await ServiceProcess.start({ REDIS_URL: redis.url, OUTAGE_SPOOL_DIR: 'off' });
    try {
      const { port } = new URL(service.baseUrl);
      for (const host of ['127.0.0.1', '[::1]']) {
        expect((await fetch(`http://${host}:${port}/health/live`)).status).toBe(200);
      }
    } finally {
      await service.stop();
    }
  });

  it('exits 1 with one line naming a busy port', async () => {
    const { code, output, port } = await runServiceOnBusyPort({
      LOG_LEVEL: 'warn',
      REDIS_URL: redis.url,
      OUTAGE_SPOOL_DIR: 'off',
    });
    expect(code).toBe(1);
    expect(output).toBe(`port ${port} is already in use: stop what listens there or set PORT\n`);
  });
});
