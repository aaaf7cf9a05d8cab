// The console's one GraphQL client (graphql-ws over /graphql) and the sign-in check.
import { createClient } from 'graphql-ws';
import { type TypedDocument } from './documents';

const TOKEN_KEY = 'mailbox-console-token';

/** The admin token of this tab (sessionStorage only: it is gone when the tab closes). */
export function loadToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** Forgets the token, and what the GraphQL explorer kept in this tab (headers among it). */
export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith('graphiql:')) sessionStorage.removeItem(key);
  }
}

// -------------------------------------------------------------------- errors

/** One error as the console shows it: the message with its extensions.code and field. */
export interface Issue {
  message: string;
  code?: string;
  field?: string;
}

export class ApiError extends Error {
  readonly issues: readonly Issue[];

  constructor(issues: readonly Issue[]) {
    super(issues.map((issue) => issue.message).join('; ') || 'Unknown error');
    this.name = 'ApiError';
    this.issues = issues.length > 0 ? issues : [{ message: 'Unknown error' }];
  }

  hasCode(code: string): boolean {
    return this.issues.some((issue) => issue.code === code);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A GraphQL formatted error ({ message, extensions }) as an Issue. */
function issueOf(error: unknown): Issue {
  if (!isRecord(error)) return { message: String(error) };
  const extensions = isRecord(error.extensions) ? error.extensions : {};
  return {
    message: typeof error.message === 'string' ? error.message : 'Unknown error',
    code: typeof extensions.code === 'string' ? extensions.code : undefined,
    field: typeof extensions.field === 'string' ? extensions.field : undefined,
  };
}

interface CloseLike {
  code: number;
  reason: string;
}

function isCloseLike(value: unknown): value is CloseLike {
  return isRecord(value) && typeof value.code === 'number' && typeof value.reason === 'string';
}

/** Anything a request or subscription failed with, as an ApiError. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (Array.isArray(error)) return new ApiError(error.map(issueOf));
  if (isCloseLike(error)) {
    const reason = error.reason ? `: ${error.reason}` : '';
    return new ApiError([
      { message: `The connection to the service closed (${error.code}${reason})` },
    ]);
  }
  if (error instanceof Error) return new ApiError([{ message: error.message }]);
  if (typeof Event !== 'undefined' && error instanceof Event) {
    return new ApiError([{ message: 'Could not connect to the service (WebSocket error)' }]);
  }
  return new ApiError([issueOf(error)]);
}

// ------------------------------------------------------------------- sign-in

/** Checks the token over HTTP; resolves when it may read the router statistics (admin). */
export async function checkToken(token: string): Promise<void> {
  const data = await post(
    token,
    '{ routerStatistics { messagesRouted } }',
    {},
    'Could not reach the service',
  );
  if (!isRecord(data) || !isRecord(data.routerStatistics)) {
    throw new ApiError([{ message: 'The service gave an unexpected answer' }]);
  }
}

/**
 * One operation as an HTTP POST, sent once: its data, or an ApiError. `unreachable` begins
 * the message of a request that got no answer.
 */
async function post(
  token: string,
  query: string,
  variables: object,
  unreachable: string,
): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ApiError([{ message: `${unreachable}: ${toApiError(error).message}` }]);
  }
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: judged by the status below.
  }
  if (isRecord(body) && Array.isArray(body.errors) && body.errors.length > 0) {
    throw new ApiError(body.errors.map(issueOf));
  }
  if (!response.ok) {
    const code =
      response.status === 401
        ? 'UNAUTHENTICATED'
        : response.status === 403
          ? 'FORBIDDEN'
          : undefined;
    throw new ApiError([
      {
        message: `The service answered HTTP ${response.status} ${response.statusText}`.trim(),
        code,
      },
    ]);
  }
  if (!isRecord(body) || !isRecord(body.data)) {
    throw new ApiError([{ message: 'The service gave an unexpected answer' }]);
  }
  return body.data;
}

// -------------------------------------------------------------------- client

export type ConnectionState = 'connecting' | 'connected' | 'closed';

export interface Subscriber<TData> {
  next: (data: TData) => void;
  error: (error: ApiError) => void;
  /** The server ended the subscription. */
  complete?: () => void;
}

export interface Api {
  /** A query or mutation over the socket: its data, or an ApiError. */
  request<TData, TVariables extends object>(
    document: TypedDocument<TData, TVariables>,
    variables: TVariables,
  ): Promise<TData>;
  /** A subscription; returns the function that ends it. */
  subscribe<TData, TVariables extends object>(
    document: TypedDocument<TData, TVariables>,
    variables: TVariables,
    subscriber: Subscriber<TData>,
  ): () => void;
  onConnectionState(listener: (state: ConnectionState) => void): () => void;
  dispose(): void;
}

const REQUEST_TIMEOUT_MS = 30_000;
/** A document whose operation is a mutation. */
const MUTATION = /^\s*mutation\b/;
/** graphql-ws close codes for a refused or revoked token. */
const AUTH_CLOSE_CODES = [4401, 4403];

/**
 * One graphql-ws client for queries, mutations and subscriptions. onAuthLost is called when
 * the service refuses the token (close 4401/4403 or an UNAUTHENTICATED error).
 */
export function createApi(token: string, onAuthLost: (reason: string) => void): Api {
  const listeners = new Set<(state: ConnectionState) => void>();
  const emit = (state: ConnectionState) => listeners.forEach((listener) => listener(state));

  const client = createClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    connectionParams: { authorization: 'Bearer ' + token },
    lazyCloseTimeout: 10_000,
    // A refused token will not get better by retrying.
    shouldRetry: (event) => !(isCloseLike(event) && AUTH_CLOSE_CODES.includes(event.code)),
    on: {
      connecting: () => emit('connecting'),
      connected: () => emit('connected'),
      closed: (event) => {
        emit('closed');
        if (isCloseLike(event) && AUTH_CLOSE_CODES.includes(event.code)) {
          const reason = event.reason ? `: ${event.reason}` : '';
          onAuthLost(`The service refused the token (${event.code}${reason}).`);
        }
      },
    },
  });

  /** Converts an error and signs out when it says the token is not accepted. */
  const fail = (error: unknown): ApiError => {
    const apiError = toApiError(error);
    if (apiError.hasCode('UNAUTHENTICATED')) onAuthLost(apiError.message);
    return apiError;
  };

  function request<TData, TVariables extends object>(
    document: TypedDocument<TData, TVariables>,
    variables: TVariables,
  ): Promise<TData> {
    // A mutation goes once, over HTTP: the socket's client sends an operation again after a
    // reconnect, and a send, a redrive or a purge must not run twice.
    if (MUTATION.test(document.query)) {
      return post(
        token,
        document.query,
        variables,
        'No answer from the service; it may or may not have done it',
      ).then(
        (data) => data as TData,
        (error: unknown) => Promise.reject(fail(error)),
      );
    }
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        action();
      };
      const timer = setTimeout(() => {
        settle(() => {
          unsubscribe();
          reject(
            new ApiError([
              { message: `No answer from the service within ${REQUEST_TIMEOUT_MS / 1000} s` },
            ]),
          );
        });
      }, REQUEST_TIMEOUT_MS);
      const unsubscribe = client.subscribe<TData>(
        { query: document.query, variables: variables as Record<string, unknown> },
        {
          next: (result) =>
            settle(() => {
              if (result.errors && result.errors.length > 0) reject(fail(result.errors));
              else if (result.data == null)
                reject(new ApiError([{ message: 'The service returned no data' }]));
              else resolve(result.data);
            }),
          error: (error) => settle(() => reject(fail(error))),
          complete: () =>
            settle(() => reject(new ApiError([{ message: 'The service returned no result' }]))),
        },
      );
    });
  }

  function subscribe<TData, TVariables extends object>(
    document: TypedDocument<TData, TVariables>,
    variables: TVariables,
    subscriber: Subscriber<TData>,
  ): () => void {
    return client.subscribe<TData>(
      { query: document.query, variables: variables as Record<string, unknown> },
      {
        next: (result) => {
          if (result.errors && result.errors.length > 0) subscriber.error(fail(result.errors));
          if (result.data != null) subscriber.next(result.data);
        },
        error: (error) => subscriber.error(fail(error)),
        complete: () => subscriber.complete?.(),
      },
    );
  }

  return {
    request,
    subscribe,

    onConnectionState(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    dispose() {
      listeners.clear();
      void client.dispose();
    },
  };
}
