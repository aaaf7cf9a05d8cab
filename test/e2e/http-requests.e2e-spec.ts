import { request as httpRequest, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { RedisServer } from '../utils/redis-server';
import { startTestApp, type TestApp } from '../utils/test-app';

const ADMIN = 'admin-token-for-tests-0123456789';
const QUERY = JSON.stringify({ query: '{ routerStatistics { running } }' });
const ANSWER = { data: { routerStatistics: { running: true } } };

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One POST /graphql written exactly as given: headers, and the body in the chunks given. */
function post(
  app: TestApp,
  headers: Record<string, string>,
  chunks: (string | Buffer)[],
): Promise<Answer> {
  const { hostname, port } = new URL(app.baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method: 'POST', path: '/graphql', headers });
    req.on('response', (res) => {
      const parts: Buffer[] = [];
      res.on('data', (part: Buffer) => parts.push(part));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(parts).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

const sized = (body: string | Buffer, headers: Record<string, string>): Record<string, string> => ({
  'content-length': String(Buffer.byteLength(body)),
  authorization: `Bearer ${ADMIN}`,
  ...headers,
});

describe('POST /graphql, whichever way the body comes', () => {
  let redisServer: RedisServer;
  let app: TestApp;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    app = await startTestApp(redisServer.url, { AUTH_ENABLED: 'true', ADMIN_TOKEN: ADMIN });
  });

  afterAll(async () => {
    await app.close();
    await redisServer.destroy();
  });

  it.each([
    ['plain JSON', { 'content-type': 'application/json' }],
    ['JSON with a charset', { 'content-type': 'application/json; charset=utf-8' }],
    ['JSON with a quoted charset', { 'content-type': 'Application/JSON;charset="UTF-8"' }],
    ['the GraphQL response type', { 'content-type': 'application/graphql-response+json' }],
  ])('answers %s with the same result and headers', async (_, type) => {
    const answer = await post(app, sized(QUERY, type), [QUERY]);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual(ANSWER);
    expect(answer.headers['content-type']).toMatch(/^application\/(graphql-response\+)?json/);
    expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
    expect(answer.headers['x-powered-by']).toBeUndefined();
  });

  it('serves every request through one pipeline: the framework is the only request listener', () => {
    const server = app.app.getHttpServer() as Server;
    expect(server.listeners('request')).toHaveLength(1);
  });

  it('answers a body sent in many small chunks', async () => {
    const pieces = QUERY.match(/.{1,5}/g) as string[];
    const answer = await post(app, sized(QUERY, { 'content-type': 'application/json' }), pieces);
    expect(JSON.parse(answer.body)).toEqual(ANSWER);
  });

  it('answers a chunked body with no declared length', async () => {
    const answer = await post(
      app,
      {
        'content-type': 'application/json',
        'transfer-encoding': 'chunked',
        authorization: `Bearer ${ADMIN}`,
      },
      [QUERY.slice(0, 10), QUERY.slice(10)],
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual(ANSWER);
  });

  it('answers a gzip-compressed body', async () => {
    const body = gzipSync(QUERY);
    const answer = await post(
      app,
      sized(body, { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
      [body],
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual(ANSWER);
  });

  it('reads non-ASCII text split inside a character', async () => {
    const text = JSON.stringify({
      query: 'query($n: Boolean!) { routerStatistics @include(if: $n) { running } }',
      variables: { n: 'x\u00e9\u4e2d' },
    });
    const bytes = Buffer.from(text);
    const split = bytes.indexOf(Buffer.from('\u4e2d')) + 1;
    const answer = await post(app, sized(bytes, { 'content-type': 'application/json' }), [
      bytes.subarray(0, split),
      bytes.subarray(split),
    ]);
    // The value is refused as not a Boolean, and the refusal quotes it intact.
    expect(answer.body).toContain('x\u00e9\u4e2d');
  });

  it.each([
    ['invalid JSON', '{"query": '],
    ['a JSON number', '42'],
    ['a JSON string', '"{ routerStatistics { running } }"'],
  ])('refuses %s as BAD_USER_INPUT on the body, plain or compressed', async (_, text) => {
    for (const [body, encoding] of [
      [Buffer.from(text), {}],
      [gzipSync(text), { 'content-encoding': 'gzip' }],
    ] as const) {
      const answer = await post(
        app,
        sized(body, { 'content-type': 'application/json', ...encoding }),
        [body],
      );
      expect(answer.status).toBe(400);
      const parsed = JSON.parse(answer.body) as { errors: { extensions: object }[] };
      expect(parsed.errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'body' });
    }
  });

  it('refuses an empty body as a request with nothing in it', async () => {
    const answer = await post(app, sized('', { 'content-type': 'application/json' }), []);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/POST body missing/);
  });

  it('asks for the token on a JSON body as on any other', async () => {
    const answer = await post(
      app,
      { 'content-type': 'application/json', 'content-length': String(QUERY.length) },
      [QUERY],
    );
    const parsed = JSON.parse(answer.body) as { errors: { extensions: { code: string } }[] };
    expect(parsed.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  it('refuses a simple cross-site content type (CSRF prevention)', async () => {
    const answer = await post(app, sized(QUERY, { 'content-type': 'text/plain' }), [QUERY]);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/CSRF|preflight/i);
  });

  it('stays healthy when a client goes away half-way through its body', async () => {
    const { hostname, port } = new URL(app.baseUrl);
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: hostname,
        port,
        method: 'POST',
        path: '/graphql',
        headers: sized(QUERY, { 'content-type': 'application/json' }),
      });
      req.on('error', () => resolve());
      req.write(QUERY.slice(0, 10), () => {
        req.destroy();
        resolve();
      });
    });
    const answer = await post(app, sized(QUERY, { 'content-type': 'application/json' }), [QUERY]);
    expect(JSON.parse(answer.body)).toEqual(ANSWER);
    expect((await fetch(`${app.baseUrl}/health/ready`)).status).toBe(200);
  });

  describe('GraphQL over HTTP: methods, media types and parameters', () => {
    const url = (query: string, extra = ''): string =>
      `${app.baseUrl}/graphql?query=${encodeURIComponent(query)}${extra}`;
    const auth = { authorization: `Bearer ${ADMIN}` };
    type Errors = { errors: { message: string; extensions: Record<string, unknown> }[] };

    it('answers a query sent with GET and a header that forces a preflight', async () => {
      const response = await fetch(url('{ routerStatistics { running } }'), {
        headers: { ...auth, 'apollo-require-preflight': 'true' },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual(ANSWER);
    });

    it('refuses a GET without such a header as a possible cross-site request', async () => {
      const response = await fetch(url('{ routerStatistics { running } }'), { headers: auth });
      expect(response.status).toBe(400);
      const body = (await response.json()) as Errors;
      expect(body.errors[0].message).toMatch(/CSRF/);
      expect(body.errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'content-type' });
    });

    it('refuses a mutation sent with GET, 405 with the method to use', async () => {
      const mutation = 'mutation { registerMailbox(name: "by-get") { token } }';
      const response = await fetch(url(mutation), {
        headers: { ...auth, 'apollo-require-preflight': 'true' },
      });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      const body = (await response.json()) as Errors;
      expect(body.errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'method' });
      const lookup = JSON.stringify({ query: '{ mailbox(name: "by-get") { name } }' });
      const check = await post(app, sized(lookup, { 'content-type': 'application/json' }), [
        lookup,
      ]);
      expect(JSON.parse(check.body)).toEqual({ data: { mailbox: null } });
    });

    it.each(['PUT', 'DELETE', 'PATCH', 'OPTIONS'])(
      'answers %s with 405 and the methods to use',
      async (method) => {
        const response = await fetch(`${app.baseUrl}/graphql`, { method, headers: auth });
        expect(response.status).toBe(405);
        expect(response.headers.get('allow')).toBe('GET, POST');
        const body = (await response.json()) as Errors;
        expect(body.errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'method' });
      },
    );

    it('refuses GET variables that are not JSON, naming the field', async () => {
      const response = await fetch(url('{ routerStatistics { running } }', '&variables=%7Bx'), {
        headers: { ...auth, 'apollo-require-preflight': 'true' },
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as Errors;
      expect(body.errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'variables' });
    });

    it('refuses a body type it does not read with 415, naming the content type', async () => {
      const answer = await post(app, sized(QUERY, { 'content-type': 'application/xml' }), [QUERY]);
      expect(answer.status).toBe(415);
      const body = JSON.parse(answer.body) as Errors;
      expect(body.errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'content-type' });
    });

    it.each([
      ['variables', { variables: [1, 2] }],
      ['variables', { variables: 'x' }],
      ['operationName', { operationName: 7 }],
      ['extensions', { extensions: 'x' }],
      ['query', { query: 42 }],
      ['query', {}],
    ])('refuses a bad %s parameter with 400, naming it', async (field, parameters) => {
      const text = JSON.stringify({ query: '{ routerStatistics { running } }', ...parameters });
      const body = field === 'query' && !('query' in parameters) ? '{}' : text;
      const answer = await post(app, sized(body, { 'content-type': 'application/json' }), [body]);
      expect(answer.status).toBe(400);
      const parsed = JSON.parse(answer.body) as Errors;
      expect(parsed.errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT', field });
    });

    it('answers in the media type the client accepts first, and 406 when it accepts none', async () => {
      const graphqlType = await post(
        app,
        sized(QUERY, {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
        }),
        [QUERY],
      );
      expect(graphqlType.status).toBe(200);
      expect(graphqlType.headers['content-type']).toMatch(/^application\/graphql-response\+json/);
      expect(JSON.parse(graphqlType.body)).toEqual(ANSWER);
      const json = await post(
        app,
        sized(QUERY, { 'content-type': 'application/json', accept: 'application/json' }),
        [QUERY],
      );
      expect(json.headers['content-type']).toMatch(/^application\/json/);
      const none = await post(
        app,
        sized(QUERY, { 'content-type': 'application/json', accept: 'text/html' }),
        [QUERY],
      );
      expect(none.status).toBe(406);
    });

    it('answers a variable of the wrong type as a request error: 400, BAD_USER_INPUT, no data', async () => {
      const text = JSON.stringify({
        query: 'query($n: Int!) { mailboxPage(first: $n) { total } }',
        variables: { n: 'many' },
      });
      const answer = await post(app, sized(text, { 'content-type': 'application/json' }), [text]);
      expect(answer.status).toBe(400);
      const body = JSON.parse(answer.body) as Errors & { data?: unknown };
      expect(body.data).toBeUndefined();
      expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    });
  });
});
