import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { BENCH_ADMIN_TOKEN } from './admin';
import { MAILBOX_FEED } from './graphql';

interface FeedData {
  mailboxMessages: { id: string; sender: string; content: string };
}

/** A graphql-ws client over its own WebSocket; resolves once the server acknowledged it. */
export function connectClient(wsUrl: string, onClosed: (reason: string) => void): Promise<Client> {
  return new Promise((resolve, reject) => {
    let connected = false;
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      lazy: false,
      connectionParams: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` },
      retryAttempts: 0,
      onNonLazyError: () => undefined,
      on: {
        connected: () => {
          connected = true;
          resolve(client);
        },
        closed: (event) => {
          const { code, reason } = (event ?? {}) as { code?: number; reason?: string };
          const text = `socket closed ${code ?? ''} ${reason ?? ''}`.trim();
          if (connected) onClosed(text);
          else reject(new Error(text));
        },
        error: (error) => {
          if (!connected) reject(error instanceof Error ? error : new Error(String(error)));
        },
      },
    });
  });
}

/**
 * Subscribes to a mailbox's live feed (mailboxMessages without `after`); `onContent` gets
 * each message's content, `onError` any error or an unexpected end.
 */
export function subscribeFeed(
  client: Client,
  mailbox: string,
  onContent: (content: string) => void,
  onError: (error: string) => void,
): () => void {
  return client.subscribe<FeedData>(
    { query: MAILBOX_FEED, variables: { mailbox } },
    {
      next: (result) => {
        if (result.errors?.length) onError(JSON.stringify(result.errors).slice(0, 300));
        const message = result.data?.mailboxMessages;
        if (message) onContent(message.content);
      },
      error: (error) =>
        onError(
          Array.isArray(error)
            ? JSON.stringify(error).slice(0, 300)
            : error instanceof Error
              ? error.message
              : `closed ${(error as { code?: number }).code ?? ''}`,
        ),
      complete: () => onError(`subscription to ${mailbox} completed`),
    },
  );
}

/** Runs `work` over `items`, at most `concurrency` at a time. */
export async function forEachLimited<T>(
  items: T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await work(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}
