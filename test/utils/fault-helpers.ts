import { graphql } from './graphql-client';
import { SEND, type RouteView } from './documents';
import { directInput } from '../factories/messages';
import { eventually } from './graphql-client';

export interface SendOutcome {
  index: number;
  messageId: string | null;
  status: string | null;
  error: string | null;
}

/** Sends `count` DIRECT messages (content "n<index>") with `parallel` in flight. */
export async function sendLoad(
  baseUrl: string,
  sender: string,
  target: string,
  count: number,
  parallel: number,
  onProgress: (sent: number) => void = () => undefined,
  headers: Record<string, string> = {},
): Promise<SendOutcome[]> {
  const outcomes: SendOutcome[] = new Array<SendOutcome>(count);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const index = next;
        next += 1;
        try {
          const response = await graphql<{ sendMessage: RouteView }>(
            baseUrl,
            SEND,
            { input: directInput(sender, target, { content: `n${index}` }) },
            headers,
          );
          const routed = response.data?.sendMessage;
          outcomes[index] = {
            index,
            messageId: routed?.messageId ?? null,
            status: routed?.status ?? null,
            error: response.errors?.[0]?.message ?? null,
          };
        } catch (error) {
          outcomes[index] = {
            index,
            messageId: null,
            status: null,
            error: (error as Error).message,
          };
        }
        done += 1;
        onProgress(done);
      }
    }),
  );
  return outcomes;
}

/** Waits until the service's local outage queue is empty (read from /metrics). */
export async function waitForEmptyOutageQueue(
  baseUrl: string,
  headers: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<void> {
  await eventually(async () => {
    try {
      const text = await (await fetch(`${baseUrl}/metrics`, { headers })).text();
      return (
        /^mailbox_outage_queue_size 0$/m.test(text) && /^mailbox_redis_circuit_open 0$/m.test(text)
      );
    } catch {
      return false;
    }
  }, timeoutMs);
}

/** Every message id in a mailbox, oldest first, read page by page. */
export async function mailboxIds(
  baseUrl: string,
  name: string,
  headers: Record<string, string> = {},
): Promise<Array<{ id: string; sender: string; content: string }>> {
  const all: Array<{ id: string; sender: string; content: string }> = [];
  let after: string | null = null;
  for (;;) {
    const response: {
      data?: {
        mailbox: {
          messages: {
            nodes: Array<{ id: string; sender: string; content: string }>;
            pageInfo: { endCursor: string | null; hasNextPage: boolean };
          };
        };
      } | null;
    } = await graphql(
      baseUrl,
      'query ($name: String!, $after: ID) { mailbox(name: $name) { messages(first: 500, after: $after) { nodes { id sender content } pageInfo { endCursor hasNextPage } } } }',
      { name, after },
      headers,
    );
    if (!response.data?.mailbox)
      throw new Error(`mailbox ${name} not readable: ${JSON.stringify(response)}`);
    const page = response.data.mailbox.messages;
    all.push(...page.nodes);
    if (!page.pageInfo.hasNextPage) return all;
    after = page.pageInfo.endCursor;
  }
}
