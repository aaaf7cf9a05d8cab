import { createClient, type Client } from 'graphql-ws/client';
import WebSocket from 'ws';
import type { MessageLike } from '../agent-view/agent-message';
import { ServiceError, UnreachableError, type CliError } from './cli.errors';
import { faultsOf } from './graphql-http.client';

/** A subscription returning one message per event, under `field`. */
export interface FeedRequest {
  query: string;
  variables: Record<string, unknown>;
  field: string;
}

/**
 * Between the feed's pings (graphql-ws' own Ping message), and how long the service may take
 * to answer one. A connection that went dead without a close (a host that vanished, a dropped
 * route, a suspended laptop) is reported after at most twice this, not waited on forever.
 */
export const FEED_KEEP_ALIVE_MS = 12_000;

/** graphql-ws' close code for a connection its onConnect refused (here: the token). */
const CLOSE_FORBIDDEN = 4403;
/** graphql-ws' close code for a connection the service did not acknowledge in time. */
const CLOSE_ACK_TIMEOUT = 4504;

/** ws' WebSocket whose opening handshake gives up after `handshakeTimeout` ms. */
function timedWebSocket(handshakeTimeout: number): unknown {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { handshakeTimeout });
    }
  };
}

/** What a graphql-ws sink's error is: GraphQL errors, a close event, or a socket error event. */
function feedFailure(address: string, error: unknown): CliError {
  if (Array.isArray(error)) return new ServiceError(faultsOf(error));
  const event = (error ?? {}) as { code?: unknown; reason?: unknown; message?: unknown };
  const underlying = (error as { error?: { code?: unknown } } | null)?.error;
  if (typeof event.code === 'number') {
    const reason = typeof event.reason === 'string' && event.reason !== '' ? event.reason : null;
    if (event.code === CLOSE_FORBIDDEN) {
      // At the start the service gives no reason; later it says why (a revoked token).
      const message =
        reason === null || reason === 'Forbidden'
          ? `the service refused the WebSocket connection (${CLOSE_FORBIDDEN} Forbidden): no token, a wrong one, or one it could not check`
          : `the service closed the WebSocket connection (${CLOSE_FORBIDDEN} ${reason})`;
      return new ServiceError([{ code: 'FORBIDDEN', message }]);
    }
    if (event.code === CLOSE_ACK_TIMEOUT) {
      return new UnreachableError(address, 'the service did not acknowledge the connection', true);
    }
    // 4xxx: the service closed the socket on purpose, for the reason it gives.
    if (event.code >= 4000) {
      return new ServiceError([
        { code: `WEBSOCKET_${event.code}`, message: reason ?? 'the service closed the connection' },
      ]);
    }
    return new UnreachableError(
      address,
      `the connection closed (${event.code}${reason ? ` ${reason}` : ''})`,
      true,
    );
  }
  if (typeof underlying?.code === 'string') return new UnreachableError(address, underlying.code);
  const message = typeof event.message === 'string' ? event.message : String(error);
  return new UnreachableError(address, message);
}

/**
 * One subscription over its own graphql-ws connection, as a queue of messages: `next` waits
 * for the next one. Messages that arrived before a failure are still handed out first.
 */
export class LiveFeed {
  /** True once the connection is acknowledged; false when the feed failed before that. */
  readonly connected: Promise<boolean>;
  private readonly client: Client;
  private readonly unsubscribe: () => void;
  private readonly queue: MessageLike[] = [];
  private failure: CliError | null = null;
  private closed = false;
  private markConnected: (acknowledged: boolean) => void = () => undefined;
  private wake: () => void = () => undefined;
  private pongWait: NodeJS.Timeout | null = null;

  constructor(
    address: string,
    token: string | null,
    request: FeedRequest,
    keepAliveMs = FEED_KEEP_ALIVE_MS,
  ) {
    let opened: WebSocket | null = null;
    this.connected = new Promise<boolean>((resolve) => {
      this.markConnected = resolve;
    });
    this.client = createClient({
      url: address,
      webSocketImpl: timedWebSocket(keepAliveMs),
      connectionAckWaitTimeout: keepAliveMs,
      connectionParams: token === null ? {} : { authorization: `Bearer ${token}` },
      // A feed that drops is reported, not silently resumed with a gap or a repeat.
      retryAttempts: 0,
      keepAlive: keepAliveMs,
      on: {
        opened: (socket) => {
          opened = socket as WebSocket;
        },
        connected: () => this.markConnected(true),
        ping: (received) => {
          if (received || this.pongWait) return;
          this.pongWait = setTimeout(() => {
            const seconds = keepAliveMs / 1000;
            this.fail(
              new UnreachableError(address, `no answer to a ping within ${seconds} s`, true),
            );
            // Cut at once: a closing handshake would wait on the dead peer too.
            opened?.terminate();
          }, keepAliveMs);
        },
        pong: (received) => {
          if (received) this.stopPongWait();
        },
        closed: () => this.stopPongWait(),
      },
    });
    this.unsubscribe = this.client.subscribe<Record<string, unknown>>(
      { query: request.query, variables: request.variables },
      {
        next: (result) => {
          if (result.errors && result.errors.length > 0) {
            this.fail(new ServiceError(faultsOf(result.errors)));
            return;
          }
          const message = result.data?.[request.field];
          if (message) this.push(message as MessageLike);
        },
        error: (error) => this.fail(feedFailure(address, error)),
        complete: () => {
          if (!this.closed) {
            this.fail(
              new ServiceError([
                { code: 'FEED_ENDED', message: 'the service ended the subscription' },
              ]),
            );
          }
        },
      },
    );
  }

  /**
   * The next message; null once `deadline` (epoch ms) has passed or the feed was closed.
   * Throws the feed's failure when nothing is left before it.
   */
  async next(deadline: number | null = null): Promise<MessageLike | null> {
    for (;;) {
      const message = this.queue.shift();
      if (message) return message;
      if (this.failure) throw this.failure;
      if (this.closed) return null;
      const left = deadline === null ? null : deadline - Date.now();
      if (left !== null && left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = left === null ? null : setTimeout(resolve, left);
        this.wake = () => {
          if (timer) clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The messages queued now, taken off the queue (a failure is left for `next`). */
  drain(): MessageLike[] {
    return this.queue.splice(0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopPongWait();
    this.unsubscribe();
    this.wake();
    try {
      await this.client.dispose();
    } catch {
      // Closing while the connection attempt fails rejects with that failure: it is the
      // feed's own, and `next` has reported it (or nobody asked).
    }
  }

  private stopPongWait(): void {
    if (this.pongWait) clearTimeout(this.pongWait);
    this.pongWait = null;
  }

  private push(message: MessageLike): void {
    this.queue.push(message);
    this.wake();
  }

  private fail(failure: CliError): void {
    this.failure ??= failure;
    this.markConnected(false);
    this.wake();
  }
}
