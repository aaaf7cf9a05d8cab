import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { graphql } from '../utils/graphql-client';
import { REGISTER } from '../utils/documents';
import { freePort, RedisServer } from '../utils/redis-server';
import { startTestApp, type TestApp } from '../utils/test-app';

const ROOT = join(__dirname, '..', '..');
const EXAMPLES = join(ROOT, 'examples');
const SCRIPT = join(EXAMPLES, 'two-agents.mjs');
const ADMIN = 'admin-token-for-examples-0123456789';
const ULID = '[0-9A-HJKMNP-TV-Z]{26}';
const COMPLETE = new RegExp(`^conversation complete: thread (${ULID}), 2 messages$`, 'm');

const THREAD = `
  query Thread($id: String!) {
    thread(id: $id) { nodes { id sender target content inReplyTo threadId } }
  }`;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

interface ThreadNode {
  id: string;
  sender: string;
  target: string | null;
  content: string;
  inReplyTo: string | null;
  threadId: string;
}

/** `node examples/two-agents.mjs ...args`, killed after `limitMs`; only PATH is inherited. */
function runExample(args: string[], limitMs = 60_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const limit = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** The one capture of `pattern` in `text`, or a failure that shows the text. */
function capture(text: string, pattern: RegExp): string {
  const match = pattern.exec(text);
  if (!match) throw new Error(`no ${String(pattern)} in:\n${text}`);
  return match[1];
}

function readJson(name: string): unknown {
  return JSON.parse(readFileSync(join(EXAMPLES, name), 'utf8')) as unknown;
}

describe('examples/', () => {
  let redis: RedisServer;
  let app: TestApp;

  async function thread(id: string): Promise<ThreadNode[]> {
    const response = await graphql<{ thread: { nodes: ThreadNode[] } }>(
      app.baseUrl,
      THREAD,
      { id },
      { authorization: `Bearer ${ADMIN}` },
    );
    expect(response.errors).toBeUndefined();
    return response.data!.thread.nodes;
  }

  /** What a run printed and what GraphQL holds agree: a request and its reply, in one thread. */
  async function expectConversation(run: Run, planner: RegExp, worker: RegExp): Promise<void> {
    expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({
      code: 0,
      signal: null,
      stderr: '',
    });
    const threadId = capture(run.stdout, COMPLETE);
    const requestId = capture(run.stdout, new RegExp(`^planner: sent request (${ULID}) `, 'm'));
    const replyId = capture(run.stdout, new RegExp(`^worker: replied (${ULID}) `, 'm'));
    expect(threadId).toBe(requestId);
    const nodes = await thread(threadId);
    expect(nodes.map((node) => node.id)).toEqual([requestId, replyId]);
    const [request, reply] = nodes;
    expect(request.sender).toMatch(planner);
    expect(request.target).toMatch(worker);
    expect(request.content).toContain('the quick brown fox');
    expect(request.inReplyTo).toBeNull();
    expect(reply.sender).toBe(request.target);
    expect(reply.target).toBe(request.sender);
    expect(reply.inReplyTo).toBe(requestId);
    expect(reply.content).toBe('9 words.');
    expect(nodes.every((node) => node.threadId === threadId)).toBe(true);
  }

  beforeAll(async () => {
    redis = await RedisServer.start();
    app = await startTestApp(redis.url, {
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      RATE_LIMIT_PER_MINUTE: '0',
    });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await redis?.stop();
  });

  it('two-agents.mjs registers two mailboxes and completes a request and its reply', async () => {
    const run = await runExample(['--url', app.baseUrl, '--admin-token', ADMIN]);
    await expectConversation(run, /^planner-[0-9a-f]{6}$/, /^worker-[0-9a-f]{6}$/);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[lines.length - 1]).toMatch(COMPLETE);
    // Each step on its line, in the order of the conversation.
    const order = [
      /^setup: registered mailboxes planner-\S+ and worker-\S+ /,
      /^worker: waiting for a message from planner-\S+ \(wait_for_message/,
      /^planner: sent request \S+ to worker-\S+ \(send_message, thread /,
      /^worker: received \S+ from planner-\S+ after [\d.]+ s \(wait_for_message/,
      /^worker: replied \S+ \(reply, thread /,
      /^planner: received reply \S+ from worker-\S+ \(wait_for_message, in reply to /,
      /^planner: read thread \S+ \(read_messages\): 2 messages: /,
      /^planner: status of \S+ \(message_status\): worker-\S+ STORED, read$/,
      COMPLETE,
    ];
    const positions = order.map((pattern) => lines.findIndex((line) => pattern.test(line)));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  }, 90_000);

  it('two-agents.mjs uses existing mailboxes named by their tokens', async () => {
    const tokens: Record<string, string> = {};
    for (const name of ['lead', 'helper']) {
      const response = await graphql<{ registerMailbox: { token: string } }>(
        app.baseUrl,
        REGISTER,
        { name },
        { authorization: `Bearer ${ADMIN}` },
      );
      expect(response.errors).toBeUndefined();
      tokens[name] = response.data!.registerMailbox.token;
    }
    const run = await runExample([
      '--url',
      `${app.baseUrl}/mcp`,
      '--planner-token',
      tokens.lead,
      '--worker-token',
      tokens.helper,
    ]);
    await expectConversation(run, /^lead$/, /^helper$/);
    expect(run.stdout).toContain('planner: connected as mailbox lead (whoami)');
    expect(run.stdout).not.toContain('registered mailboxes');
  }, 90_000);

  it('two-agents.mjs exits 1 with one clear line when the service is unreachable', async () => {
    const port = await freePort();
    const run = await runExample(['--url', `http://127.0.0.1:${port}`, '--admin-token', ADMIN]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^two-agents: cannot reach the mailbox service at .*ECONNREFUSED/),
    ]);
    expect(run.stdout).not.toMatch(/conversation complete/);
  }, 30_000);

  it('two-agents.mjs exits 1 when /mcp refuses a token', async () => {
    const run = await runExample([
      '--url',
      app.baseUrl,
      '--planner-token',
      ADMIN,
      '--worker-token',
      ADMIN,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^two-agents: planner: cannot connect to .*\/mcp: .*admin token/m);
    expect(run.stdout).not.toMatch(/conversation complete/);
  }, 30_000);

  it('the client configuration files parse and point at /mcp with a bearer token', () => {
    const cursor = readJson('cursor-mcp.json') as {
      mcpServers: Record<string, { url: string; headers: Record<string, string> }>;
    };
    const cursorServer = cursor.mcpServers.mailbox;
    expect(new URL(cursorServer.url).pathname).toBe('/mcp');
    expect(cursorServer.headers.Authorization).toMatch(/^Bearer \S+$/);

    const desktop = readJson('claude-desktop-config.json') as {
      mcpServers: Record<string, { command: string; args: string[]; env: Record<string, string> }>;
    };
    const desktopServer = desktop.mcpServers.mailbox;
    expect(desktopServer.command).toBe('npx');
    expect(desktopServer.args[0]).toBe('mcp-remote');
    expect(new URL(desktopServer.args[1]).pathname).toBe('/mcp');
    const header = desktopServer.args[desktopServer.args.indexOf('--header') + 1];
    expect(header).toBe('Authorization: Bearer ${MAILBOX_TOKEN}');
    expect(Object.keys(desktopServer.env)).toEqual(['MAILBOX_TOKEN']);
  });

  it('the README shows the configuration files as they are, and the one-line setups', () => {
    const readme = readFileSync(join(EXAMPLES, 'README.md'), 'utf8');
    for (const name of ['cursor-mcp.json', 'claude-desktop-config.json']) {
      const text = readFileSync(join(EXAMPLES, name), 'utf8').trim();
      expect({ name, shown: readme.includes(text) }).toEqual({ name, shown: true });
    }
    expect(readme).toContain(
      'claude mcp add --transport http mailbox http://localhost:3000/mcp --header "Authorization: Bearer $MAILBOX_TOKEN"',
    );
    const python = readFileSync(join(EXAMPLES, 'openai-agents.py'), 'utf8');
    expect(python).toContain('MCPServerStreamableHttp(');
    expect(python).toMatch(/"headers": \{"Authorization": f"Bearer \{/);
    expect(python).toContain('http://localhost:3000/mcp');
  });
});
