/**
 * Sends over graphql-ws, for the loads that send their mutations on WebSockets rather than
 * over HTTP (clients/ws-send.ts, clients/live-load.ts): the sockets, one mutation with its
 * time limit, and the reading of its answer by the same rule as an HTTP answer's.
 */
import type { FormattedExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import { readSendResponse, SEND_MESSAGE, type SendInput, type SendOutcome } from './graphql';
import { connectClient } from './live-feed';

/** A GraphQL operation as graphql-ws sends it (its `subscribe` payload). */
export interface Operation {
  query: string;
  variables: Record<string, unknown>;
}

/** A sendMessage mutation: the operation whose JSON is sendMessageBody's, over HTTP. */
export function sendMessageOperation(input: SendInput): Operation {
  return { query: SEND_MESSAGE, variables: { in: input } };
}

/** What graphql-ws hands its `next` (the sendMessage or sendMessages result). */
export type MutationResult = FormattedExecutionResult<Record<string, unknown>, unknown>;

/**
 * `count` graphql-ws clients, each on its own WebSocket with the admin token, once the
 * server acknowledged every one. A socket that closes later fails the mutations awaiting on
 * it (each rejects, and the load counts and quotes it), so nothing else listens for that.
 */
export function openSockets(wsUrl: string, count: number): Promise<Client[]> {
  return Promise.all(Array.from({ length: count }, () => connectClient(wsUrl, () => undefined)));
}

export async function closeSockets(clients: readonly Client[]): Promise<void> {
  for (const client of clients) await client.dispose();
}

/**
 * One mutation over `client`: resolves with its result, rejects when the socket ends first
 * or no answer comes within `timeoutMs` (the operation is then given up, as an abandoned
 * HTTP request: whether the service stored its messages is unknown).
 */
export function mutate(
  client: Client,
  operation: Operation,
  timeoutMs: number,
): Promise<MutationResult> {
  return new Promise((resolve, reject) => {
    let result: MutationResult | null = null;
    // Fires after `cancel` below is set: subscribe returns before any timer can run.
    const timer = setTimeout(() => {
      cancel();
      reject(new Error('timeout'));
    }, timeoutMs);
    const settle = (error: Error | null): void => {
      clearTimeout(timer);
      if (error) reject(error);
      else if (result) resolve(result);
      else reject(new Error('completed without a result'));
    };
    const cancel = client.subscribe(operation, {
      next: (value) => {
        result = value;
      },
      error: (error) =>
        settle(
          new Error(
            Array.isArray(error)
              ? JSON.stringify(error).slice(0, 200)
              : `socket closed ${(error as { code?: number }).code ?? ''}`.trim(),
          ),
        ),
      complete: () => settle(null),
    });
  });
}

/**
 * What a mutation's result acknowledges, read as the body of an HTTP answer would be: one
 * reading rule for both transports, so their exactly-once checks count alike.
 */
export function readMutationResult(result: MutationResult, expected: number): SendOutcome {
  return readSendResponse(200, JSON.stringify(result), expected);
}
