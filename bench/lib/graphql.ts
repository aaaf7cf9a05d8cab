/** The GraphQL documents and inputs every scenario uses, and setup calls over plain fetch. */

import { ADMIN_HEADER } from './admin';

export const SEND_MESSAGE = `mutation Send($in: SendMessageInput!) {
  sendMessage(input: $in) { messageId status recipients }
}`;

export const SEND_MESSAGES = `mutation SendBatch($in: [SendMessageInput!]!) {
  sendMessages(inputs: $in) { messageId status recipients errorCode }
}`;

export const MAILBOX_FEED = `subscription Feed($mailbox: String!) {
  mailboxMessages(mailbox: $mailbox) { id sender content }
}`;

/** The mailbox every benchmark message is sent as. */
export const BENCH_SENDER = 'bench-sender';

export interface SendInput {
  /** Left out (undefined) when an agent's token names the sender. */
  sender?: string;
  mode: 'DIRECT';
  target: string;
  content: string;
}

export function directInput(target: string, content: string): SendInput {
  return { sender: BENCH_SENDER, mode: 'DIRECT', target, content };
}

export function sendMessageBody(input: SendInput): string {
  return JSON.stringify({ query: SEND_MESSAGE, variables: { in: input } });
}

export function sendMessagesBody(inputs: SendInput[]): string {
  return JSON.stringify({ query: SEND_MESSAGES, variables: { in: inputs } });
}

interface RouteResultJson {
  messageId?: string | null;
  status?: string;
}

interface ResponseJson {
  data?: { sendMessage?: RouteResultJson | null; sendMessages?: RouteResultJson[] | null } | null;
  errors?: Array<{ message?: string }>;
}

export interface SendOutcome {
  /** Messages the response acknowledges as routed (a messageId and a status other than FAILED). */
  acknowledged: number;
  /** Messages refused, in a response with errors or as FAILED entries of a batch. */
  refused: number;
  /** The first error message, for the report. */
  error: string | null;
}

function routed(result: RouteResultJson | null | undefined): boolean {
  return !!result && !!result.messageId && result.status !== 'FAILED';
}

/** Reads a sendMessage or sendMessages response: how many messages it acknowledges. */
export function readSendResponse(
  status: number,
  body: Buffer | string,
  expected: number,
): SendOutcome {
  if (status < 200 || status >= 300) {
    return {
      acknowledged: 0,
      refused: expected,
      error: `HTTP ${status}: ${String(body).slice(0, 200)}`,
    };
  }
  let json: ResponseJson;
  try {
    json = JSON.parse(String(body)) as ResponseJson;
  } catch {
    return {
      acknowledged: 0,
      refused: expected,
      error: `unreadable body: ${String(body).slice(0, 200)}`,
    };
  }
  const error = json.errors?.[0]?.message ?? null;
  if (json.errors?.length) return { acknowledged: 0, refused: expected, error };
  const single = json.data?.sendMessage;
  if (single !== undefined) {
    return routed(single)
      ? { acknowledged: 1, refused: 0, error: null }
      : { acknowledged: 0, refused: 1, error: `status ${single?.status ?? 'null'}` };
  }
  const batch = json.data?.sendMessages ?? [];
  const acknowledged = batch.filter(routed).length;
  return {
    acknowledged,
    refused: expected - acknowledged,
    error: acknowledged === expected ? null : `${expected - acknowledged} of ${expected} FAILED`,
  };
}

/** One GraphQL request over fetch, for setup; throws on any error. */
export async function graphqlOk<T>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...ADMIN_HEADER },
    body: JSON.stringify({ query, variables }),
  });
  const json = (await response.json()) as { data?: T; errors?: unknown[] };
  if (!response.ok || json.errors?.length || !json.data) {
    throw new Error(`GraphQL ${response.status}: ${JSON.stringify(json.errors ?? json)}`);
  }
  return json.data;
}

/**
 * Registers mailboxes, `perRequest` aliased registerMailbox fields per request (the service
 * allows 30 aliases a document), `concurrency` requests at a time.
 */
export async function registerMailboxes(
  baseUrl: string,
  names: string[],
  perRequest = 25,
  concurrency = 8,
): Promise<void> {
  const groups: string[][] = [];
  for (let i = 0; i < names.length; i += perRequest) groups.push(names.slice(i, i + perRequest));
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < groups.length) {
      const group = groups[next++];
      const fields = group
        .map(
          (name, i) => `r${i}: registerMailbox(name: ${JSON.stringify(name)}) { mailbox { name } }`,
        )
        .join('\n');
      await graphqlOk(baseUrl, `mutation {\n${fields}\n}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, groups.length) }, worker));
}

/** `count` mailbox names `<prefix>-00000`, `<prefix>-00001`, ... */
export function mailboxNames(prefix: string, count: number): string[] {
  const width = String(count - 1).length;
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(width, '0')}`);
}
