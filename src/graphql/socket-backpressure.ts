import { WebSocket } from 'ws';

export interface SocketBackpressureOptions {
  /** Bytes the socket may hold unsent (WS_MAX_BUFFERED_BYTES). */
  limit: number;
  /** How long the socket may stay over `limit` without ever draining back to it. */
  graceMs: number;
  /** Called once, when the socket has stayed over `limit` for `graceMs`. */
  onLagging: () => void;
}

/**
 * Sends frames on one WebSocket with a bound on the bytes it holds unsent.
 *
 * ws's `send` never waits: what the reader does not read stays in the socket's buffer. The
 * `send` here resolves at once while that buffer holds at most `limit` bytes, and otherwise
 * once it has drained back to `limit`. graphql-ws waits for each send before it takes the
 * next event of a subscription, so a slow reader stops its subscriptions from pulling: a
 * replay waits (PushIterator.room()) and live events wait in the PushIterator, bounded there.
 * A query's or a mutation's answer waits the same way after it is written, and the operation
 * counts as under way until then (OPERATIONS_PER_SOCKET, graphql-ws.server.ts). A socket holds
 * at most `limit` bytes plus the frame each of its subscriptions and of those operations was
 * sending when it went over.
 *
 * The rule for a reader that lags: a socket that goes over `limit` and is still over it
 * `graceMs` later, without having drained back to it in between, is lagging, and
 * `onLagging` is called. A single frame larger than the limit (a full-size message) does not
 * trip it if the reader takes it in within the grace; a reader that has stopped reading does.
 */
export class SocketBackpressure {
  private waiting: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly socket: WebSocket,
    private readonly options: SocketBackpressureOptions,
  ) {
    socket.once('close', () => this.release());
  }

  /** Whether the socket holds more than its limit unsent now. */
  get over(): boolean {
    return this.socket.bufferedAmount > this.options.limit;
  }

  /** Sends `data`; resolves when the caller may send more (see the class). */
  send(data: string): Promise<void> {
    if (this.socket.readyState !== WebSocket.OPEN) return Promise.resolve();
    // Called once the frame has left the process, or the socket has failed: either way the
    // buffer has shrunk or no longer matters.
    this.socket.send(data, () => this.drained());
    if (!this.over) return Promise.resolve();
    this.timer ??= setTimeout(() => this.expire(), this.options.graceMs);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Lets every waiting sender go and stops the clock: the socket is closing or has drained. */
  release(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }

  private drained(): void {
    if (!this.over || this.socket.readyState !== WebSocket.OPEN) this.release();
  }

  private expire(): void {
    this.timer = null;
    // The timer is cleared whenever the buffer drains back to the limit: still over now means
    // over for the whole grace.
    if (this.over && this.socket.readyState === WebSocket.OPEN) this.options.onLagging();
    this.release();
  }
}
