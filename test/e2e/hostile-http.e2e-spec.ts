import { request as httpRequest, type Server } from 'node:http';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import type { Redis } from 'ioredis';
import { RedisServer } from '../utils/redis-server';
import { startTestApp, type TestApp } from '../utils/test-app';
import { REQUEST_TIMEOUT_MS } from '../../src/app.setup';

const ADMIN = 'admin-token-for-tests-0123456789';

/** Writes a raw HTTP request head (and an optional first part of the body), reads the answer. */
function rawRequest(
  app: TestApp,
  head: string,
  body: Buffer,
  timeoutMs: number,
): Promise<{ status: number; text: string; elapsedMs: number }> {
  const { hostname, port } = new URL(app.baseUrl);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = /content-length: (\d+)/i.exec(received.slice(0, end));
      if (length && received.length - end - 4 < Number(length[1])) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({
        status: Number(received.slice(9, 12)),
        text: received.slice(end + 4),
        elapsedMs: Date.now() - started,
      });
    });
    socket.on('error', reject);
    socket.write(head);
    socket.write(body);
  });
}

/** One POST /graphql with these headers; a body without content-length goes chunked, in two writes. */
function post(
  app: TestApp,
  headers: Record<string, string>,
  body: Buffer,
  path = '/graphql',
): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(app.baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: hostname,
      port,
      method: 'POST',
      path,
      headers: { ...headers, authorization: `Bearer ${ADMIN}` },
    });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString('utf8') }),
      );
    });
    req.on('error', reject);
    req.write(body.subarray(0, 10));
    req.end(body.subarray(10));
  });
}

describe('hostile HTTP bodies', () => {
  let redisServer: RedisServer;
  let app: TestApp;
  let redis: Redis;
  let keysBefore: string[];

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    app = await startTestApp(redisServer.url, { AUTH_ENABLED: 'true', ADMIN_TOKEN: ADMIN });
    redis = redisServer.client();
  });

  afterAll(async () => {
    redis.disconnect();
    await app.close();
    await redisServer.destroy();
  });

  beforeEach(async () => {
    keysBefore = (await redis.keys('*')).sort();
  });

  afterEach(async () => {
    expect((await fetch(`${app.baseUrl}/health/ready`)).status).toBe(200);
    // A refused request writes nothing.
    expect((await redis.keys('*')).sort()).toEqual(keysBefore);
  });

  it.each([
    ['plain JSON', 'application/json'],
    ['JSON with a charset', 'application/json; charset=utf-8'],
    ['the GraphQL response type', 'application/graphql-response+json'],
  ])(
    'answers 413 at once to a declared length over the limit (%s), without waiting for the upload',
    async (_, type) => {
      const declared = 64 * 1024 * 1024;
      const head =
        `POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: ${type}\r\n` +
        `Authorization: Bearer ${ADMIN}\r\nContent-Length: ${declared}\r\n\r\n`;
      // A kilobyte of the announced 64 MiB, then nothing: the answer must not wait for the rest.
      const answer = await rawRequest(
        app,
        head,
        Buffer.from(`{"query":"${'x'.repeat(1000)}`),
        5_000,
      );
      expect(answer.status).toBe(413);
      const { errors } = JSON.parse(answer.text) as {
        errors: Array<{ message: string; extensions: object }>;
      };
      expect(errors[0].message).toMatch(
        /^request body: 67108864 bytes exceeds the limit of \d+ bytes$/,
      );
      expect(errors[0].extensions).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', field: 'body' });
    },
  );

  const invalid = Buffer.concat([
    Buffer.from('{"query":"{ routerStatistics { running } }","operationName":"'),
    Buffer.from([0xc3, 0x28, 0xff]),
    Buffer.from('"}'),
  ]);

  it.each([
    [
      'with a length',
      { 'content-type': 'application/json', 'content-length': String(invalid.length) },
      invalid,
    ],
    ['chunked', { 'content-type': 'application/json' }, invalid],
    [
      'gzipped',
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      gzipSync(invalid),
    ],
  ])(
    'refuses a body that is not valid UTF-8 (%s) instead of replacing bytes',
    async (_, headers, body) => {
      const response = await post(app, headers, body);
      expect(response.status).toBe(400);
      expect(JSON.parse(response.text)).toMatchObject({
        errors: [
          {
            message: 'request body: not valid UTF-8 (JSON bodies must be UTF-8)',
            extensions: { code: 'BAD_USER_INPUT', field: 'body' },
          },
        ],
      });
    },
  );

  const json = Buffer.from('{"query":"{ routerStatistics { running } }"}');
  it.each([
    ['gzip', Buffer.from('xx')],
    ['gzip', gzipSync(json).subarray(0, 12)],
    ['deflate', Buffer.from('not deflated')],
    ['br', Buffer.from([0xff, 0xff, 0xff, 0xff])],
  ])(
    'refuses a %s body it cannot decode (#%#) as BAD_USER_INPUT, not a server error',
    async (encoding, body) => {
      const headers = { 'content-type': 'application/json', 'content-encoding': encoding };
      const message: unknown = expect.stringMatching(
        new RegExp(`^request body: not valid ${encoding} data`),
      );
      const extensions = { code: 'BAD_USER_INPUT', field: 'body' };
      const graphqlAnswer = await post(app, headers, body);
      expect(graphqlAnswer.status).toBe(400);
      expect(JSON.parse(graphqlAnswer.text) as unknown).toMatchObject({
        errors: [{ message, extensions }],
      });
      // MCP clients read a JSON-RPC parse error.
      const mcpAnswer = await post(app, headers, body, '/mcp');
      expect(mcpAnswer.status).toBe(400);
      expect(JSON.parse(mcpAnswer.text) as unknown).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message, data: extensions },
      });
      expect((await fetch(`${app.baseUrl}/health/ready`)).status).toBe(200);
    },
  );

  it('refuses a compressed body that decodes past the limit with 413 PAYLOAD_TOO_LARGE, and stays healthy', async () => {
    // 1 GiB of zeros in 16 gzip members of 64 MiB each (gzip reads them as one body): about
    // 1 MB on the wire.
    const member = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    const bomb = Buffer.concat(Array.from({ length: 16 }, () => member));
    const response = await post(
      app,
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      bomb,
    );
    expect(response.status).toBe(413);
    expect(JSON.parse(response.text)).toMatchObject({
      errors: [{ extensions: { code: 'PAYLOAD_TOO_LARGE', field: 'body' } }],
    });
    expect((await fetch(`${app.baseUrl}/health/ready`)).status).toBe(200);
  }, 30_000);

  it('refuses an input object of 50,000 unknown fields with one short error', async () => {
    const members = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, 1]));
    const body = Buffer.from(
      JSON.stringify({
        query: 'mutation($in: SendMessageInput!) { sendMessage(input: $in) { status } }',
        variables: { in: members },
      }),
    );
    const response = await post(app, { 'content-type': 'application/json' }, body);
    expect(response.status).toBe(400);
    // graphql-js would answer 50 errors, each printing the whole object: 27 MB.
    expect(response.text.length).toBeLessThan(1_000);
    expect(JSON.parse(response.text) as unknown).toEqual({
      errors: [
        {
          message:
            'Variable "$in" got invalid value at "in.k0": "k0" is not a field of input type "SendMessageInput".',
          extensions: { code: 'BAD_USER_INPUT', field: 'variables.in.k0' },
        },
      ],
    });
    expect((await fetch(`${app.baseUrl}/health/ready`)).status).toBe(200);
  });

  it('gives a request five minutes to arrive whole, as Node does and Fastify does not', () => {
    const server = app.app.getHttpServer() as Server;
    expect(server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
    expect(REQUEST_TIMEOUT_MS).toBe(300_000);
  });

  it('still takes valid multi-byte UTF-8 split anywhere', async () => {
    const body = JSON.stringify({
      query: '{ routerStatistics { running } }',
      operationName: null,
      extensions: { note: 'ünïcødé ✓ 𝄞' },
    });
    const response = await fetch(`${app.baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ data: { routerStatistics: { running: true } } });
  });
});
