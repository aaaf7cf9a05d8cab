#!/usr/bin/env node
// A scripted conversation between two agents, a planner and a worker, through the mailbox's
// MCP endpoint (/mcp), with no LLM: each agent is an MCP client calling the same tools a model
// would call. Run it from the repository after `npm ci`, against a running service:
//
//   node examples/two-agents.mjs --admin-token "$ADMIN_TOKEN"
//   node examples/two-agents.mjs --planner-token "$PLANNER" --worker-token "$WORKER"
//
// Options (flag, or environment variable):
//   --url           MAILBOX_URL     the service, default http://127.0.0.1:3000
//   --admin-token   ADMIN_TOKEN     registers two new mailboxes (planner-<random>, worker-<random>)
//   --planner-token PLANNER_TOKEN   or use two existing mailboxes: their tokens name them
//   --worker-token  WORKER_TOKEN
//
// Exit code 0 once the conversation is complete; 1, with one line on stderr, on any failure.

// fetch is built into Node 18 and later; declared here for the linter.
/* global fetch */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/** The whole run gives up after this long: a wait never hangs the script. */
const DEADLINE_MS = 90_000;
/** How long each agent waits for the other (wait_for_message allows at most 45 s). */
const WAIT_S = 30;

const USAGE = `usage: node examples/two-agents.mjs [--url URL] (--admin-token TOKEN | --planner-token TOKEN --worker-token TOKEN)`;

class Failure extends Error {}

/** One readable line per step. */
function step(line) {
  process.stdout.write(`${line}\n`);
}

/** An error with what lies beneath it (fetch hides ECONNREFUSED in its cause). */
function describe(error) {
  const parts = [error instanceof Error ? error.message : String(error)];
  let cause = error instanceof Error ? error.cause : undefined;
  while (cause) {
    // localhost tries ::1 and 127.0.0.1: an AggregateError with one error per address.
    const message = cause.message || cause.errors?.map((each) => each.message).join(', ') || '';
    const text = cause.code && !message.includes(cause.code) ? `${cause.code} ${message}` : message;
    if (text && !parts.some((part) => part.includes(text.trim()))) parts.push(text.trim());
    cause = cause.cause;
  }
  return parts.join(': ');
}

function options() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        url: { type: 'string' },
        'admin-token': { type: 'string' },
        'planner-token': { type: 'string' },
        'worker-token': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    throw new Failure(`${error.message}\n${USAGE}`);
  }
  if (parsed.help) {
    step(USAGE);
    process.exit(0);
  }
  const env = process.env;
  const url = parsed.url ?? env.MAILBOX_URL ?? 'http://127.0.0.1:3000';
  let base;
  try {
    base = new URL(url);
  } catch {
    throw new Failure(`--url: not a URL: ${url}`);
  }
  // The service's base URL; a URL ending in /mcp or /graphql is taken too.
  const path = base.pathname.replace(/\/+$/, '').replace(/\/(mcp|graphql)$/, '');
  return {
    base: `${base.origin}${path}`,
    admin: parsed['admin-token'] ?? env.ADMIN_TOKEN,
    planner: parsed['planner-token'] ?? env.PLANNER_TOKEN,
    worker: parsed['worker-token'] ?? env.WORKER_TOKEN,
  };
}

/** registerMailbox over GraphQL (plain fetch); returns the new mailbox's token. */
async function register(base, admin, name, description) {
  let response;
  try {
    response = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(admin ? { authorization: `Bearer ${admin}` } : {}),
      },
      body: JSON.stringify({
        query: `mutation ($name: String!, $metadata: JSON) {
          registerMailbox(name: $name, metadata: $metadata) { token mailbox { name } }
        }`,
        variables: { name, metadata: { description } },
      }),
    });
  } catch (error) {
    throw new Failure(
      `cannot reach the mailbox service at ${base}: ${describe(error)} (is it running? npm start)`,
    );
  }
  const body = await response.json().catch(() => null);
  const refused = body?.errors?.[0];
  if (refused) {
    const code = refused.extensions?.code ? ` (${refused.extensions.code})` : '';
    const hint = admin ? '' : '; pass --admin-token, or --planner-token and --worker-token';
    throw new Failure(`registerMailbox ${name} refused: ${refused.message}${code}${hint}`);
  }
  const token = body?.data?.registerMailbox?.token;
  if (!token) throw new Failure(`registerMailbox ${name}: HTTP ${response.status}, no token`);
  return token;
}

/** An MCP client of base/mcp that acts for the mailbox its token names. */
async function connect(base, role, token) {
  const client = new Client({ name: `two-agents-${role}`, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  try {
    await client.connect(transport);
  } catch (error) {
    throw new Failure(`${role}: cannot connect to ${base}/mcp: ${describe(error)}`);
  }
  return client;
}

/** Calls a tool and returns its structured result; a refusal is a failure. */
async function call(client, role, name, args) {
  let result;
  try {
    result = await client.callTool({ name, arguments: args }, undefined, {
      timeout: (WAIT_S + 15) * 1_000,
    });
  } catch (error) {
    throw new Failure(`${role}: ${name} failed: ${describe(error)}`);
  }
  if (result.isError) {
    throw new Failure(
      `${role}: ${name} refused: ${result.content?.[0]?.text ?? 'no reason given'}`,
    );
  }
  return result.structuredContent;
}

/**
 * wait_for_message, for up to WAIT_S in all, until a message that `wanted` (which may be
 * async) accepts comes. Older unread messages that match the filters (left from an earlier
 * run, with reused mailboxes) come first: they are skipped.
 */
async function waitFor(client, role, args, wanted, what) {
  const until = Date.now() + WAIT_S * 1_000;
  while (Date.now() < until) {
    const timeout_s = Math.max(1, Math.ceil((until - Date.now()) / 1_000));
    const outcome = await call(client, role, 'wait_for_message', { ...args, timeout_s });
    for (const message of outcome.messages) {
      if (await wanted(message)) return { message, waited: outcome.waited_s };
    }
  }
  throw new Failure(`${role}: no ${what} within ${WAIT_S} s (wait_for_message kept timing out)`);
}

function quote(text) {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

async function main() {
  const { base, admin, planner: plannerToken, worker: workerToken } = options();
  step(`service: ${base} (MCP endpoint ${base}/mcp)`);

  let tokens;
  if (plannerToken && workerToken) {
    tokens = { planner: plannerToken, worker: workerToken };
    step('setup: using the two mailboxes named by --planner-token and --worker-token');
  } else if (plannerToken || workerToken) {
    throw new Failure(`give both --planner-token and --worker-token, or --admin-token\n${USAGE}`);
  } else {
    const suffix = randomBytes(3).toString('hex');
    const names = { planner: `planner-${suffix}`, worker: `worker-${suffix}` };
    tokens = {
      planner: await register(base, admin, names.planner, 'plans work, asks the worker'),
      worker: await register(base, admin, names.worker, 'does what the planner asks'),
    };
    step(`setup: registered mailboxes ${names.planner} and ${names.worker} (registerMailbox)`);
  }

  const planner = await connect(base, 'planner', tokens.planner);
  const worker = await connect(base, 'worker', tokens.worker);
  try {
    // No argument names the caller: each token is its agent's mailbox.
    const plannerName = (await call(planner, 'planner', 'whoami', {})).mailbox;
    const workerName = (await call(worker, 'worker', 'whoami', {})).mailbox;
    step(`planner: connected as mailbox ${plannerName} (whoami)`);
    step(`worker: connected as mailbox ${workerName} (whoami)`);

    // 1. The worker waits first. A message sent before its wait reaches the service is
    //    returned at once anyway, so the short pause only lets the run show a live wake-up.
    step(
      `worker: waiting for a message from ${plannerName} (wait_for_message, timeout_s ${WAIT_S})`,
    );
    // The wait can return before the planner's send has answered: the request's id is
    // known once that answer is in.
    let sent;
    const requestSent = new Promise((resolve, reject) => (sent = { resolve, reject }));
    requestSent.catch(() => undefined);
    const workerWait = waitFor(
      worker,
      'worker',
      { from: plannerName },
      async (message) => message.message_id === (await requestSent),
      `request from ${plannerName}`,
    );
    // Keep a failure of the wait from going unhandled while the planner sends.
    workerWait.catch(() => undefined);
    await sleep(250);

    // 2. The planner sends a request that expects a reply within 30 s.
    const body = "How many words are in 'the quick brown fox jumps over the lazy dog'?";
    const request = await call(planner, 'planner', 'send_message', {
      to: workerName,
      subject: 'word count',
      body,
      reply_within_s: 30,
    }).catch((error) => {
      sent.reject(error);
      throw error;
    });
    const requestId = request.message_id;
    sent.resolve(requestId);
    const thread = request.thread_id;
    step(
      `planner: sent request ${requestId} to ${workerName} (send_message, thread ${thread}, ` +
        `status ${request.status}, reply within 30 s): ${quote(body)}`,
    );

    // 3. The worker's wait returns the request.
    const got = await workerWait;
    step(
      `worker: received ${got.message.message_id} from ${got.message.from} after ` +
        `${got.waited} s (wait_for_message, thread ${got.message.thread_id}): ${quote(got.message.body ?? '')}`,
    );
    if (got.message.thread_id !== thread) {
      throw new Failure(
        `worker: the request came in thread ${got.message.thread_id}, not ${thread}`,
      );
    }

    // 4. The worker replies: to the sender, in the request's thread.
    const sentence = /'([^']*)'/.exec(got.message.body ?? '')?.[1] ?? '';
    const answer = `${sentence.split(/\s+/).filter(Boolean).length} words.`;
    const reply = await call(worker, 'worker', 'reply', { message_id: requestId, body: answer });
    step(
      `worker: replied ${reply.message_id} (reply, thread ${reply.thread_id}): ${quote(answer)}`,
    );
    if (reply.thread_id !== thread) {
      throw new Failure(`worker: the reply went to thread ${reply.thread_id}, not ${thread}`);
    }

    // 5. The planner waits for the worker's answer in that thread.
    const answered = await waitFor(
      planner,
      'planner',
      { from: workerName, thread_id: thread },
      (message) => message.message_id === reply.message_id,
      `reply from ${workerName}`,
    );
    step(
      `planner: received reply ${answered.message.message_id} from ${answered.message.from} ` +
        `(wait_for_message, in reply to ${answered.message.in_reply_to}, thread ${thread}): ` +
        quote(answered.message.body ?? ''),
    );
    if (answered.message.in_reply_to !== requestId) {
      throw new Failure(
        `planner: the reply answers ${answered.message.in_reply_to}, not ${requestId}`,
      );
    }

    // 6. The planner reads the whole thread.
    const read = await call(planner, 'planner', 'read_messages', { thread_id: thread });
    const listed = read.messages.map((m) => `${m.message_id} (${m.from} -> ${m.to})`);
    step(
      `planner: read thread ${thread} (read_messages): ${read.messages.length} messages: ${listed.join(', ')}`,
    );
    const ids = read.messages.map((m) => m.message_id);
    if (ids.length !== 2 || ids[0] !== requestId || ids[1] !== reply.message_id) {
      throw new Failure(
        `planner: thread ${thread} holds ${JSON.stringify(ids)}, not the request and the reply`,
      );
    }

    // 7. Where the request stands with its recipient.
    const status = await call(planner, 'planner', 'message_status', { message_id: requestId });
    const recipients = status.recipients.map(
      (r) => `${r.mailbox} ${r.status}, ${r.read ? 'read' : 'unread'}`,
    );
    step(
      `planner: status of ${requestId} (message_status): ${recipients.join('; ') || 'no recipients'}`,
    );

    step(`conversation complete: thread ${thread}, ${read.messages.length} messages`);
  } finally {
    await Promise.all(
      [planner.close(), worker.close()].map((closing) => closing.catch(() => undefined)),
    );
  }
}

const deadline = setTimeout(() => {
  process.stderr.write(`two-agents: gave up after ${DEADLINE_MS / 1_000} s\n`);
  process.exit(1);
}, DEADLINE_MS);
deadline.unref();

try {
  await main();
  process.exit(0);
} catch (error) {
  const line = error instanceof Failure ? error.message : describe(error);
  process.stderr.write(`two-agents: ${line}\n`);
  process.exit(1);
}
