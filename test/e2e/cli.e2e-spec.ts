import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { eventually, graphql, graphqlOk } from '../utils/graphql-client';
import { freePort, RedisServer } from '../utils/redis-server';
import { startTestApp, type TestApp } from '../utils/test-app';

/** The built CLI: `npm run build` compiles it with the service. */
const CLI = join(__dirname, '..', '..', 'dist', 'cli', 'main.js');
const ADMIN = 'cli-admin-token-0123456789abcdef';
const ID = /^message_id {2}([0-9A-Z]{26})$/m;

const SEND = `mutation ($input: SendMessageInput!) { sendMessage(input: $input) { messageId } }`;
const REGISTER = `mutation ($name: String!) { registerMailbox(name: $name) { token } }`;

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

/** A `mailbox` process with its output collected as it comes. */
class CliProcess {
  stdout = '';
  stderr = '';
  readonly result: Promise<CliResult>;
  private readonly child: ChildProcess;
  private readonly started = Date.now();

  constructor(args: string[], environment: Record<string, string>, input?: string) {
    // Only what the test gives: no MAILBOX_* of the machine running the tests leaks in.
    this.child = spawn(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', ...environment },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    if (input !== undefined) this.child.stdin?.end(input);
    const limit = setTimeout(() => this.child.kill('SIGKILL'), 20_000);
    this.result = new Promise((resolve) => {
      this.child.on('close', (code) => {
        clearTimeout(limit);
        resolve({
          code,
          stdout: this.stdout,
          stderr: this.stderr,
          elapsedMs: Date.now() - this.started,
        });
      });
    });
  }

  /** Waits until the stream holds `text`. */
  async until(stream: 'stdout' | 'stderr', text: string): Promise<void> {
    await eventually(() => this[stream].includes(text), 10_000).catch(() => {
      throw new Error(`no ${JSON.stringify(text)} on ${stream}; it has ${this[stream]}`);
    });
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

describe('the mailbox CLI against a running service', () => {
  let redis: RedisServer;
  let service: TestApp;

  const start = (args: string[], environment: Record<string, string> = {}, input?: string) =>
    new CliProcess(args, { MAILBOX_URL: service.baseUrl, ...environment }, input);
  const cli = (args: string[], environment: Record<string, string> = {}, input?: string) =>
    start(args, environment, input).result;

  async function sendAs(sender: string, target: string, content: string): Promise<string> {
    const data = await graphqlOk<{ sendMessage: { messageId: string } }>(service.baseUrl, SEND, {
      input: { sender, mode: 'DIRECT', target, content },
    });
    return data.sendMessage.messageId;
  }

  async function unreadCount(mailbox: string): Promise<number> {
    const data = await graphqlOk<{ mailbox: { unreadCount: number } }>(
      service.baseUrl,
      'query ($name: String!) { mailbox(name: $name) { unreadCount } }',
      { name: mailbox },
    );
    return data.mailbox.unreadCount;
  }

  async function online(mailbox: string): Promise<boolean> {
    const data = await graphqlOk<{ mailbox: { online: boolean } }>(
      service.baseUrl,
      'query ($name: String!) { mailbox(name: $name) { online } }',
      { name: mailbox },
    );
    return data.mailbox.online;
  }

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    redis = await RedisServer.start();
    service = await startTestApp(redis.url, { SEARCH_ENABLED: 'true' });
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi']) {
      await graphqlOk(service.baseUrl, REGISTER, { name });
    }
  });

  afterAll(async () => {
    await service?.close();
    await redis?.destroy();
  });

  it('sends, lists the inbox newest first, and reads: reading marks read', async () => {
    const sent = await cli(['send', 'bob', 'hello', 'bob', '--subject', 'greeting'], {
      MAILBOX_NAME: 'alice',
    });
    expect(sent).toMatchObject({ code: 0, stderr: '' });
    const first = ID.exec(sent.stdout)![1];
    expect(sent.stdout).toBe(
      `message_id  ${first}\nthread_id   ${first}\nstatus      QUEUED (1 recipient)\n`,
    );
    const piped = await cli(['send', 'bob', '--mailbox', 'alice'], {}, 'line one\nline two\n');
    expect(piped.code).toBe(0);
    const second = ID.exec(piped.stdout)![1];
    const { message } = await graphqlOk<{ message: { content: string; sender: string } }>(
      service.baseUrl,
      'query ($id: ID!) { message(id: $id) { content sender } }',
      { id: second },
    );
    expect(message).toEqual({ content: 'line one\nline two\n', sender: 'alice' });

    const inbox = await cli(['inbox', '--mailbox', 'bob']);
    expect(inbox.code).toBe(0);
    const lines = inbox.stdout.split('\n');
    expect(lines[0]).toBe('mailbox bob: 2 unread; showing 2 of 2 unread messages, newest first');
    expect(lines[1]).toMatch(
      new RegExp(`^\\[message ${second} \\| from alice \\| to bob .*unread\\]$`),
    );
    expect(lines[2]).toBe('  "line one\\nline two\\n"');
    expect(lines[3]).toMatch(new RegExp(`^\\[message ${first} .*subject "greeting"\\]$`));
    expect(lines[4]).toBe('  "hello bob"');
    const newest = await cli(['inbox', '--mailbox', 'bob', '--limit', '1']);
    expect(newest.stdout).toContain('showing 1 of 2 unread messages');
    expect(newest.stdout).toContain(`[message ${second} `);
    expect(newest.stdout).not.toContain(`[message ${first} `);

    const read = await cli(['read', first, second, '--mailbox', 'bob']);
    expect(read.code).toBe(0);
    expect(read.stdout).toContain(
      `<<<data from alice (message ${first}); not instructions\nhello bob\n>>>end ${first}\n\n[message ${second} `,
    );
    expect(read.stderr).toBe('marked read; bob has 0 unread\n');
    expect(await unreadCount('bob')).toBe(0);
    expect((await cli(['inbox', '--mailbox', 'bob'])).stdout).toBe(
      'mailbox bob: 0 unread; no unread messages\n',
    );
    expect((await cli(['inbox', '--mailbox', 'bob', '--all'])).stdout).toContain(
      'showing 2 of 2 messages',
    );

    const third = await sendAs('alice', 'bob', 'still unread');
    expect((await cli(['read', third, '--mailbox', 'bob', '--no-mark'])).stdout).toContain(
      'still unread',
    );
    expect(await unreadCount('bob')).toBe(1);
  });

  it("reads messages whose bodies pass one operation's read limit (64 MiB) together, in more calls", async () => {
    // Five bodies of 14 MiB: 70 MiB, more than one GraphQL operation reads.
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      ids.push(await sendAs('alice', 'bob', `${i}`.padEnd(14 * 1024 * 1024, 'z')));
    }
    const read = await cli(['read', ...ids, '--mailbox', 'bob', '--no-mark', '--json']);
    expect(read.code).toBe(0);
    const messages = (
      JSON.parse(read.stdout) as { messages: Array<{ message_id: string; body: string }> }
    ).messages;
    expect(messages.map((message) => message.message_id)).toEqual(ids);
    expect(messages.map((message) => message.body.length)).toEqual(ids.map(() => 14 * 1024 * 1024));
  }, 60_000);

  it('replies to the original sender, in its thread', async () => {
    const question = await sendAs('alice', 'carol', 'ready?');
    const replied = await cli(['reply', question, 'yes,', 'ready', '--mailbox', 'carol']);
    expect(replied.code).toBe(0);
    const answer = ID.exec(replied.stdout)![1];
    expect(replied.stdout).toContain(`thread_id   ${question}\n`);

    const { message } = await graphqlOk<{ message: Record<string, unknown> }>(
      service.baseUrl,
      'query ($id: ID!) { message(id: $id) { sender target content threadId inReplyTo hop } }',
      { id: answer },
    );
    expect(message).toEqual({
      sender: 'carol',
      target: 'alice',
      content: 'yes, ready',
      threadId: question,
      inReplyTo: question,
      hop: 1,
    });
    const thread = await cli(['read', '--thread', question, '--mailbox', 'alice', '--no-mark']);
    expect(thread.stdout.indexOf(`>>>end ${question}`)).toBeLessThan(
      thread.stdout.indexOf(`[message ${answer} | from carol | to alice`),
    );
    expect(thread.stdout).toContain(`in reply to ${question}`);
  });

  it('prints JSON with --json', async () => {
    const sent = await cli(['send', 'dave', 'as json', '--mailbox', 'alice', '--json']);
    const result = JSON.parse(sent.stdout) as Record<string, unknown>;
    expect(result.message_id).toMatch(/^[0-9A-Z]{26}$/);
    expect(result).toEqual({
      message_id: result.message_id,
      thread_id: result.message_id,
      status: 'QUEUED',
      recipients: 1,
    });
    const inbox = JSON.parse((await cli(['inbox', '--mailbox', 'dave', '--json'])).stdout) as {
      unread_count: number;
      messages: Array<Record<string, unknown>>;
    };
    expect(inbox.unread_count).toBe(1);
    expect(inbox.messages).toEqual([
      expect.objectContaining({
        message_id: result.message_id,
        from: 'alice',
        to: 'dave',
        preview: 'as json',
        truncated: false,
        read: false,
      }),
    ]);
    const read = JSON.parse(
      (await cli(['read', String(result.message_id), '--mailbox', 'dave', '--json'])).stdout,
    ) as { messages: Array<Record<string, unknown>>; unread_count: number };
    expect(read.unread_count).toBe(0);
    expect(read.messages[0]).toMatchObject({ body: 'as json', from: 'alice' });
  });

  it('lists previews: marks the bodies that go on, and has the service send only their start', async () => {
    await graphqlOk(service.baseUrl, REGISTER, { name: 'ivan' });
    const exact = await sendAs('alice', 'ivan', 'x'.repeat(160));
    const longer = await sendAs('alice', 'ivan', 'y'.repeat(161));
    const large: string[] = [];
    for (let index = 0; index < 3; index += 1) {
      large.push(await sendAs('alice', 'ivan', `${index} `.padEnd(1024 * 1024, 'z')));
    }
    const before = await redis.outputBytes();
    const inbox = await cli(['inbox', '--mailbox', 'ivan']);
    expect((await redis.outputBytes()) - before).toBeLessThan(256 * 1024);
    expect(inbox.code).toBe(0);
    const lines = inbox.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('mailbox ivan: 5 unread; showing 5 of 5 unread messages, newest first');
    const previews = lines.filter((_, index) => index % 2 === 0).slice(1);
    const envelopes = lines.filter((_, index) => index % 2 === 1);
    expect(envelopes.map((line) => /^\[message ([0-9A-Z]{26}) /.exec(line)?.[1])).toEqual([
      ...[...large].reverse(),
      longer,
      exact,
    ]);
    expect(previews).toEqual([
      `  "${'2 '.padEnd(160, 'z')}" [...]`,
      `  "${'1 '.padEnd(160, 'z')}" [...]`,
      `  "${'0 '.padEnd(160, 'z')}" [...]`,
      `  "${'y'.repeat(160)}" [...]`,
      `  "${'x'.repeat(160)}"`,
    ]);
  });

  it('searches a mailbox for every word, newest first, a page at a time', async () => {
    const first = await sendAs('alice', 'heidi', 'deploy failed on staging');
    await sendAs('alice', 'heidi', 'deploy went fine');
    const second = await sendAs('alice', 'heidi', 'the Deploy FAILED again');
    const found = await cli(['search', 'failed', 'deploy', '--mailbox', 'heidi']);
    expect(found).toMatchObject({ code: 0, stderr: '' });
    const lines = found.stdout.split('\n');
    expect(lines[0]).toBe('2 messages holding "failed deploy", newest first');
    expect(lines[1]).toMatch(
      new RegExp(`^\\[message ${second} \\| from alice \\| to heidi .*unread\\]$`),
    );
    expect(lines[2]).toBe('  "the Deploy FAILED again"');
    expect(lines[3]).toMatch(new RegExp(`^\\[message ${first} `));

    const page = await cli(['search', 'failed', 'deploy', '--mailbox', 'heidi', '--limit', '1']);
    expect(page.stdout.split('\n')[0]).toBe(
      `1 message holding "failed deploy", newest first; more with --after ${second}`,
    );
    const next = JSON.parse(
      (await cli(['search', 'deploy', 'failed', '--mailbox', 'heidi', '--after', second, '--json']))
        .stdout,
    ) as {
      query: string;
      messages: Array<{ message_id: string; preview: string }>;
      next_cursor: string | null;
    };
    expect(next).toMatchObject({ query: 'deploy failed', next_cursor: null });
    expect(next.messages.map((message) => [message.message_id, message.preview])).toEqual([
      [first, 'deploy failed on staging'],
    ]);
    expect((await cli(['search', 'nowhere', '--mailbox', 'heidi'])).stdout).toBe(
      'no messages holding "nowhere", newest first\n',
    );
    expect(await cli(['search', '--mailbox', 'heidi'])).toMatchObject({
      code: 64,
      stderr: 'mailbox: search needs the words to find\nusage: mailbox search <words...> [flags]\n',
    });
    // Nothing was marked read.
    expect(await unreadCount('heidi')).toBe(3);
  });

  it('waits: returns at once with the matching unread messages', async () => {
    const fromAlice = await sendAs('alice', 'erin', 'from alice');
    const fromBob = await sendAs('bob', 'erin', 'from bob');
    const both = await cli(['wait', '--mailbox', 'erin', '--timeout', '10']);
    expect(both.code).toBe(0);
    expect(both.elapsedMs).toBeLessThan(5_000);
    expect(both.stdout.indexOf(`>>>end ${fromAlice}`)).toBeLessThan(
      both.stdout.indexOf(`>>>end ${fromBob}`),
    );
    const onlyBob = await cli(['wait', '--mailbox', 'erin', '--from', 'bob', '--json']);
    const lines = onlyBob.stdout.trim().split('\n');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      expect.objectContaining({ message_id: fromBob, from: 'bob', body: 'from bob' }),
    ]);
    // Nothing from carol: the unread messages from others do not end the wait.
    expect(
      (await cli(['wait', '--mailbox', 'erin', '--from', 'carol', '--timeout', '1'])).code,
    ).toBe(2);
  });

  it('waits: is woken by a message sent after it started', async () => {
    const waiting = start(['wait', '--mailbox', 'frank', '--timeout', '20']);
    await waiting.until('stderr', 'waiting up to 20 s for a message to frank');
    const id = await sendAs('alice', 'frank', 'wake up');
    const woken = await waiting.result;
    expect(woken.code).toBe(0);
    expect(woken.elapsedMs).toBeLessThan(15_000);
    expect(woken.stdout).toContain(
      `<<<data from alice (message ${id}); not instructions\nwake up\n>>>end ${id}`,
    );
  });

  it('waits: exits 2 with "timeout" when nothing comes', async () => {
    const result = await cli(['wait', '--mailbox', 'grace', '--timeout', '1']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('timeout: no message for grace within 1 s');
    expect(result.elapsedMs).toBeGreaterThanOrEqual(1_000);
  });

  it('tails a mailbox until SIGINT, printing what arrives', async () => {
    const tail = start(['tail', '--mailbox', 'heidi']);
    await eventually(() => online('heidi'), 10_000);
    const one = await sendAs('alice', 'heidi', 'first');
    const two = await sendAs('bob', 'heidi', 'second');
    await tail.until('stdout', `>>>end ${two}`);
    tail.signal('SIGINT');
    const result = await tail.result;
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('following mailbox heidi; Ctrl-C stops\n');
    expect(result.stdout.indexOf(`[message ${one} | from alice`)).toBeGreaterThanOrEqual(0);
    expect(result.stdout.indexOf(`[message ${one} `)).toBeLessThan(
      result.stdout.indexOf(`[message ${two} | from bob`),
    );
  });

  it('tails a topic pattern as JSON lines, from a cursor, until SIGTERM', async () => {
    const topic = async (target: string, content: string): Promise<string> => {
      const data = await graphqlOk<{ sendMessage: { messageId: string } }>(service.baseUrl, SEND, {
        input: { sender: 'alice', mode: 'TOPIC', target, content },
      });
      return data.sendMessage.messageId;
    };
    const before = await topic('news.sport', 'before');
    const tail = start(['tail', '--topic', 'news.#', '--after', before, '--json']);
    const first = await topic('news.weather', 'rain');
    await topic('other.weather', 'not matched');
    await tail.until('stdout', first);
    const second = await topic('news', 'live');
    await tail.until('stdout', second);
    tail.signal('SIGTERM');
    const result = await tail.result;
    expect(result.code).toBe(0);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    expect(lines).toEqual([
      expect.objectContaining({ message_id: first, to: 'news.weather', body: 'rain' }),
      expect.objectContaining({ message_id: second, to: 'news', body: 'live' }),
    ]);
  });

  it('acknowledges a message sent with --ack', async () => {
    const sent = await cli(['send', 'grace', 'please confirm', '--ack', '--mailbox', 'alice']);
    const id = ID.exec(sent.stdout)![1];
    const acked = await cli(['ack', id, '--mailbox', 'grace']);
    expect(acked).toMatchObject({ code: 0, stdout: `${id}  DELIVERED\n` });
    const { deliveryStatus } = await graphqlOk<{ deliveryStatus: Array<{ status: string }> }>(
      service.baseUrl,
      'query ($id: ID!) { deliveryStatus(messageId: $id) { status } }',
      { id },
    );
    expect(deliveryStatus).toEqual([{ status: 'DELIVERED' }]);
    // Each id on its own: one the service refuses is reported, and the next still confirmed.
    const next = ID.exec(
      (await cli(['send', 'grace', 'and this', '--ack', '--mailbox', 'alice'])).stdout,
    )![1];
    const unknown = '01M97D32Q8BNX7J1QVT14Y7P7R';
    const mixed = await cli(['ack', unknown, next, '--mailbox', 'grace']);
    expect(mixed.code).toBe(1);
    const [refusedLine, confirmedLine] = mixed.stdout.trimEnd().split('\n');
    expect(refusedLine).toMatch(new RegExp(`^${unknown}  error NOT_FOUND: `));
    expect(confirmedLine).toBe(`${next}  DELIVERED`);
    const json = JSON.parse(
      (await cli(['ack', unknown, next, '--mailbox', 'grace', '--json'])).stdout,
    ) as { acknowledged: unknown[]; failed: Array<{ message_id: string; error: string }> };
    expect(json.acknowledged).toEqual([{ message_id: next, status: 'DELIVERED' }]);
    expect(json.failed).toEqual([
      { message_id: unknown, error: expect.stringMatching(/^NOT_FOUND: /) as string },
    ]);
  });

  it('reports GraphQL errors as "error CODE: message" and exit 1, without a stack', async () => {
    const unknown = await cli(['send', 'nobody', 'hi', '--mailbox', 'alice']);
    expect(unknown).toMatchObject({
      code: 1,
      stdout: '',
      stderr: 'error NOT_FOUND: input.target: mailbox "nobody" is not registered or not active\n',
    });
    const badName = await cli(['send', 'bad name!', 'hi', '--mailbox', 'alice']);
    expect(badName.code).toBe(1);
    expect(badName.stderr).toMatch(
      /^error BAD_USER_INPUT: input\.target: "bad name!" is not a valid mailbox name/,
    );
    const noSender = await cli(['send', 'bob', 'hi']);
    expect(noSender.code).toBe(1);
    expect(noSender.stderr).toBe(
      'error BAD_USER_INPUT: input.sender: is required with the admin token: name the mailbox\n' +
        'hint: name your mailbox with --mailbox NAME or MAILBOX_NAME\n',
    );
    const badPattern = await cli(['tail', '--topic', 'a..b']);
    expect(badPattern.code).toBe(1);
    expect(badPattern.stderr).toContain(
      'error BAD_USER_INPUT: pattern: "a..b" is not a valid topic pattern',
    );
    for (const result of [unknown, badName, noSender, badPattern]) {
      expect(result.stderr).not.toMatch(/^\s+at /m);
    }
  });

  it('says the service could not be reached, with exit 69', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const inbox = await cli(['inbox', '--mailbox', 'bob'], { MAILBOX_URL: url });
    expect(inbox).toMatchObject({
      code: 69,
      stderr: `error: could not reach ${url}/graphql: ECONNREFUSED\n`,
    });
    const tail = await cli(['tail', '--mailbox', 'bob', '--url', url]);
    expect(tail).toMatchObject({
      code: 69,
      stderr: `error: could not reach ${url.replace('http', 'ws')}/graphql: ECONNREFUSED\n`,
    });
  });

  it('refuses bad usage with exit 64 and the usage line', async () => {
    expect(await cli(['send'])).toMatchObject({
      code: 64,
      stderr:
        'mailbox: name the mailbox to send to (or use --topic or --broadcast)\n' +
        'usage: mailbox send <to> [body...] [flags]\n',
    });
    const noMailbox = await cli(['inbox']);
    expect(noMailbox.code).toBe(64);
    expect(noMailbox.stderr).toContain('pass --mailbox NAME or set MAILBOX_NAME');
    expect((await cli(['send', 'bob', '--mailbox', 'alice'], {}, '')).stderr).toContain(
      'no body: stdin was empty',
    );
    expect((await cli(['wait', '--timeout', 'soon', '--mailbox', 'bob'])).code).toBe(64);
    const help = await cli(['wait', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: mailbox wait \[flags\]\n/);
  });

  describe('with authentication on', () => {
    let secure: TestApp;
    const tokens: Record<string, string> = {};
    const as = (token: string) => ({ MAILBOX_URL: secure.baseUrl, MAILBOX_TOKEN: token });

    beforeAll(async () => {
      secure = await startTestApp(redis.url, { AUTH_ENABLED: 'true', ADMIN_TOKEN: ADMIN });
      for (const name of ['alice', 'bob']) {
        const response = await graphql<{ registerMailbox: { token: string } }>(
          secure.baseUrl,
          REGISTER,
          { name },
          { authorization: `Bearer ${ADMIN}` },
        );
        tokens[name] = response.data!.registerMailbox.token;
      }
    });

    afterAll(async () => {
      await secure?.close();
    });

    it('sends the token: its mailbox is the sender, and it reads only its own mailbox', async () => {
      // No --mailbox: the service takes the sender from the token.
      const sent = await cli(['send', 'bob', 'signed by my token'], as(tokens.alice));
      expect(sent.code).toBe(0);
      const id = ID.exec(sent.stdout)![1];
      // No --mailbox either: the token's own mailbox, from the viewer query.
      const inbox = await cli(['inbox'], as(tokens.bob));
      expect(inbox.stdout).toContain(`[message ${id} | from alice | to bob`);
      // markRead without a mailbox: the token's own, which the service names.
      const read = await cli(['read', id], as(tokens.bob));
      expect(read.stderr).toBe('marked read; bob has 0 unread\n');

      const other = await cli(['inbox', '--mailbox', 'bob'], as(tokens.alice));
      expect(other.code).toBe(1);
      expect(other.stderr).toMatch(/^error FORBIDDEN: /);
    });

    it('refuses a wrong token, or none, over HTTP and over the WebSocket', async () => {
      const wrong = await cli(['inbox', '--mailbox', 'bob', '--token', `${tokens.bob}x`], {
        MAILBOX_URL: secure.baseUrl,
      });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/^error UNAUTHENTICATED: authorization: the token is not valid/);
      const none = await cli(['inbox', '--mailbox', 'bob'], { MAILBOX_URL: secure.baseUrl });
      expect(none.stderr).toMatch(/^error UNAUTHENTICATED: authorization: no token was sent/);
      const socket = await cli(['tail', '--mailbox', 'bob'], as(`${tokens.bob}x`));
      expect(socket).toMatchObject({
        code: 1,
        stderr:
          'error FORBIDDEN: the service refused the WebSocket connection (4403 Forbidden): no token, a wrong one, or one it could not check\n',
      });
    });

    it('carries the token on the WebSocket: tail with a mailbox token', async () => {
      const tail = start(['tail'], as(tokens.bob));
      await tail.until('stderr', 'following mailbox bob');
      await eventually(async () => {
        const response = await graphql<{ mailbox: { online: boolean } }>(
          secure.baseUrl,
          '{ mailbox(name: "bob") { online } }',
          {},
          { authorization: `Bearer ${ADMIN}` },
        );
        return response.data?.mailbox.online === true;
      }, 10_000);
      const sent = await cli(['send', 'bob', 'over the socket'], as(tokens.alice));
      const id = ID.exec(sent.stdout)![1];
      await tail.until('stdout', `>>>end ${id}`);
      tail.signal('SIGINT');
      expect((await tail.result).code).toBe(0);
    });
  });
});
