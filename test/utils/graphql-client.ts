import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export interface GraphqlError {
  message: string;
  extensions?: { code?: string; field?: string; limit?: number; [key: string]: unknown };
}

export interface GraphqlResponse<T> {
  status: number;
  data?: T | null;
  errors?: GraphqlError[];
}

/** POSTs one GraphQL operation over real HTTP. */
export async function graphql<T = Record<string, unknown>>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<GraphqlResponse<T>> {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
    signal,
  });
  const body = (await response.json()) as Omit<GraphqlResponse<T>, 'status'>;
  return { status: response.status, ...body };
}

/** Like `graphql`, but fails the test on any error and returns the data. */
export async function graphqlOk<T = Record<string, unknown>>(
  baseUrl: string,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<T> {
  const response = await graphql<T>(baseUrl, query, variables, headers);
  if (response.errors?.length || !response.data) {
    throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
  }
  return response.data;
}

/** A subscription over a real graphql-ws WebSocket, collecting what arrives. */
export class LiveSubscription<T> {
  readonly values: T[] = [];
  readonly errors: unknown[] = [];
  completed = false;
  private waiters: Array<() => void> = [];
  private readonly dispose: () => void;

  constructor(
    client: Client,
    query: string,
    variables: Record<string, unknown>,
    pick: (data: Record<string, unknown>) => T,
  ) {
    this.dispose = client.subscribe<Record<string, unknown>>(
      { query, variables },
      {
        next: (result) => {
          if (result.errors) this.errors.push(...result.errors);
          if (result.data) this.values.push(pick(result.data));
          this.wake();
        },
        error: (error) => {
          // graphql-ws hands over the list of GraphQL errors, or a close event.
          if (Array.isArray(error)) this.errors.push(...(error as unknown[]));
          else this.errors.push(error);
          this.wake();
        },
        complete: () => {
          this.completed = true;
          this.wake();
        },
      },
    );
  }

  /** Resolves once `count` values have arrived; rejects on an error or after `timeoutMs`. */
  async waitFor(count: number, timeoutMs = 10_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.values.length < count) {
      if (this.errors.length > 0)
        throw new Error(`subscription failed: ${JSON.stringify(this.errors)}`);
      if (this.completed)
        throw new Error(`subscription completed after ${this.values.length} of ${count}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out with ${this.values.length} of ${count} values`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.values.slice(0, count);
  }

  /** Resolves when the subscription ended with an error or completed. */
  async waitForEnd(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.errors.length === 0 && !this.completed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('subscription did not end');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  unsubscribe(): void {
    this.dispose();
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const wake of waiting) wake();
  }
}

/** A graphql-ws client over a real WebSocket; resolves once the connection is acknowledged. */
export async function connectWs(
  wsUrl: string,
  connectionParams: Record<string, unknown> = {},
): Promise<Client> {
  let acknowledged: () => void = () => undefined;
  let failed: (error: unknown) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    acknowledged = resolve;
    failed = reject;
  });
  const client = createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams,
    lazy: false,
    // Close events are the tests' business; the default would print them.
    onNonLazyError: () => undefined,
    retryAttempts: 0,
    on: {
      connected: () => acknowledged(),
      closed: (event) => failed(new Error(`closed: ${JSON.stringify(event)}`)),
      error: (error) => failed(error),
    },
  });
  await ready;
  return client;
}

/** Waits until `check` returns true, polling; for effects that settle asynchronously. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
