import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { GraphQLError, OperationTypeNode, type OperationDefinitionNode } from 'graphql';
import {
  CloseCode,
  handleProtocols,
  makeServer,
  MessageType,
  type Context,
  type Server as ProtocolServer,
} from 'graphql-ws';
import type { IncomingMessage, Server } from 'node:http';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { AuthService } from '../auth/auth.service';
import { originAllowed, sameOrigin } from '../common/origin';
import type { Principal } from '../auth/principal';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import { whenStoreAnswers } from '../redis/feed-catch-up';
import { Clock } from '../common/clock';
import { AppConfigService } from '../config/app-config.service';
import { requestId } from '../logging/request-id';
import type { GraphqlContext } from './graphql-context';
import { formatError, toGraphqlError } from './graphql-error';
import { CompiledExecution } from './compiled-execution';
import { sharedSubscribe } from './shared-execution';
import { SharedPayloads } from './shared-payloads';
import { FrameCoalescing } from './frame-coalescing';
import { SocketBackpressure } from './socket-backpressure';
import { formatResultError } from './operation-errors';
import { refusedVariable } from './variable-fields';
import { ValidDocuments } from './valid-documents';

export const GRAPHQL_PATH = '/graphql';
/** WebSocket close code 1001: the endpoint is going away. */
const GOING_AWAY = 1001;
/** graphql-ws's Forbidden: the token the connection was opened with is no longer valid. */
const TOKEN_REVOKED = 4403;
/**
 * WebSocket close code 1013, Try Again Later: the reader fell too far behind. A temporary
 * condition of this connection, and graphql-ws clients retry on it (1008, Policy Violation,
 * would end their retries). Nothing is lost: the messages are stored, and the close reason
 * says to resume with `after`.
 */
export const LAGGING_CLOSE_CODE = 1013;
/**
 * How long a socket may hold more than WS_MAX_BUFFERED_BYTES without draining back to it.
 * Long enough for a reader to take in a full-size message over a modest link; a reader that
 * has stopped reading is let go well before the keep-alive would notice.
 */
export const LAG_GRACE_MS = 5_000;
/** Between pings, and how long a pong may take (graphql-ws's default). */
const KEEP_ALIVE_MS = 12_000;
/**
 * How often the token of every open WebSocket is checked against Redis again: a revocation's
 * announcement is at-most-once (pub/sub), and one may fail to go out at all, so a socket of a
 * revoked token closes within this long even when no announcement reached its instance.
 */
export const TOKEN_RECHECK_MS = 15_000;
/**
 * Queries and mutations one socket may have under way at once (subscriptions are counted
 * apart, against SUBSCRIPTIONS_PER_SOCKET); one more is refused as RATE_LIMITED and the
 * socket stays open. Each may read up to MAX_OPERATION_BODY_BYTES of message bodies, and each
 * holds its place until its answer is written and the socket has drained back to
 * WS_MAX_BUFFERED_BYTES (SocketBackpressure): so a client that sends hundreds at once and
 * never reads has at most this many read and written for it. Above what an agent sending on
 * its feed's socket keeps in flight (the benchmark's w1 keeps 13 a socket).
 */
export const OPERATIONS_PER_SOCKET = 16;
/**
 * The longest graphql-ws message id taken, in characters. An id is held for as long as its
 * operation runs (a subscription's whole life) and repeated in every frame sent for it; a
 * client's ids are counters or UUIDs (36).
 */
export const MAX_OPERATION_ID_LENGTH = 128;
/**
 * The largest `subscribe` message, in bytes, that may start a subscription. graphql-ws holds
 * a subscription's message for the subscription's whole life, as it came and parsed, where no
 * code of the service's can drop it; without this cap SUBSCRIPTIONS_PER_SOCKET subscriptions
 * of the frame limit (ROUTER_MAX_MESSAGE_SIZE and its envelope, 16 MiB by default) would hold
 * gigabytes for one socket. A subscription's message is a document and a few variables (the
 * service's own feeds are under 1 KiB); queries and mutations, answered once, are not held.
 */
export const MAX_SUBSCRIBE_FRAME_BYTES = 64 * 1024;

interface SocketExtra {
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
  /** The connection's id: its upgrade request's `x-request-id` when sane, else a new one. */
  readonly connectionId: string;
  /** Its subscriptions' payloads, serialized once for every subscriber of a result. */
  readonly payloads: SharedPayloads;
  /**
   * The size in bytes of the message graphql-ws is handling: set before it is handed over,
   * which calls onSubscribe before it awaits anything, so onSubscribe reads its own message's.
   */
  frameBytes: number;
}

type WsContext = Context<Record<string, unknown> | undefined, SocketExtra>;

/**
 * A subscription's id, the `requestId` of its GraphQL context and the `reqId` of what is
 * logged about it: the connection's id and the graphql-ws message id, unique while the
 * subscription runs.
 */
function subscriptionId(connectionId: string, id: string): string {
  return `${connectionId}:${id}`;
}

/**
 * graphql-ws's refusal of a message that only a server sends (`connection_ack`, `next`,
 * `error`): it validates such a message as well formed, then throws on it instead of closing
 * the socket as it does for a malformed one. The client's fault, not the service's.
 */
const SERVER_ONLY_MESSAGE = new RegExp(
  `^Unexpected message of type (${[MessageType.ConnectionAck, MessageType.Next, MessageType.Error].join('|')}) received$`,
);

/** The type of a server's message that the client sent, when `error` is the refusal of one. */
function serverOnlyType(error: unknown): string | null {
  return error instanceof Error ? (SERVER_ONLY_MESSAGE.exec(error.message)?.[1] ?? null) : null;
}

/**
 * The variables `operation` declares, from those the client sent. Others are never read, but
 * passed on they would be held for a subscription's whole life and serialized into the key of
 * its shared execution (shared-execution.ts).
 */
function declaredVariables(
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> | null | undefined,
): Record<string, unknown> | undefined {
  if (!variables) return undefined;
  const declared: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    if (Object.hasOwn(variables, name)) declared[name] = variables[name];
  }
  return declared;
}

/** A received frame's size in bytes. */
function frameBytes(data: RawData): number {
  if (Array.isArray(data)) return data.reduce((sum, part) => sum + part.length, 0);
  return data.byteLength;
}

/** A received frame as text (ws hands over Buffers unless told otherwise). */
function frameText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString();
  return Buffer.isBuffer(data) ? data.toString() : Buffer.from(data).toString();
}

/**
 * GraphQL subscriptions over graphql-ws (sub-protocol `graphql-transport-ws`) on the HTTP
 * server's `/graphql`, and the queries and mutations a client sends over the same socket
 * (one `next` with the result, then `complete`), so that an agent holding a socket for its
 * feed sends on it too. They pass the same validation, guards (the token given at
 * connection, the rate limit, ownership) and error filter as over HTTP, and their errors
 * carry the same codes (operation-errors.ts). Set up here rather than by @nestjs/graphql so
 * that the frame limit, the per-socket caps (subscriptions, queries and mutations under way),
 * the bound on unsent bytes and the shutdown are the service's own. The sockets are served with graphql-ws's `makeServer`
 * rather than its `useServer`, whose `send` waits for every frame to reach the kernel: here
 * a send waits only while the socket holds more than WS_MAX_BUFFERED_BYTES
 * (SocketBackpressure), so that what a slow reader has not read is counted in one place, per
 * socket, in bytes. The frames a socket is given in one turn after its first are written
 * together (FrameCoalescing).
 */
/**
 * How long a shutdown waits for the queries and mutations under way on its sockets to be
 * answered before it closes them: well within SHUTDOWN_GRACE_PERIOD's default of 25 s.
 */
export const IN_FLIGHT_WAIT_MS = 5_000;

@Injectable()
export class GraphqlWsServer implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(GraphqlWsServer.name);
  private wss: WebSocketServer | null = null;
  private dispose: (() => Promise<void> | void) | null = null;
  /** Set at shutdown: new WebSocket upgrades are refused from then on. */
  private closing = false;
  /** Each connection's running subscriptions by graphql-ws id (SUBSCRIPTIONS_PER_SOCKET). */
  private readonly active = new WeakMap<WsContext, Set<string>>();
  /** Each connection's queries and mutations under way, by id: answered before a shutdown closes. */
  private readonly singles = new WeakMap<WsContext, Set<string>>();
  /** Queries and mutations under way on every connection. */
  private inFlight = 0;
  /** Called whenever inFlight drops to 0 (a shutdown waiting for it). */
  private drained: (() => void) | null = null;
  private readonly principals = new WeakMap<WsContext, Principal>();
  private readonly contexts = new WeakMap<WebSocket, WsContext>();
  /** Each upgrade request's connection id, from the upgrade to the connection. */
  private readonly connectionIds = new WeakMap<IncomingMessage, string>();
  private lagging = 0;
  /**
   * Open sockets by the digest of the token they authenticated with, and that token's
   * mailbox, for revocation.
   */
  private readonly socketsByToken = new Map<string, { mailbox: string; sockets: Set<WebSocket> }>();
  private stopListening: (() => Promise<void>) | null = null;
  private stopRechecking: () => void = () => undefined;
  /** A check of every open socket's token is under way (recheckTokens). */
  private rechecking = false;

  /** One query or mutation answered (or its connection gone). */
  private settled(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0) this.drained?.();
  }

  /** Waits until no query or mutation is under way, or `limitMs` has passed. */
  private async answersInFlight(limitMs: number): Promise<void> {
    if (this.inFlight === 0) return;
    this.logger.log(`waiting for ${this.inFlight} WebSocket operations to be answered`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, limitMs);
      this.drained = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.drained = null;
  }
  /** A turn's frames to one socket after its first go out in one write. */
  private readonly coalescing = new FrameCoalescing();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly schemaHost: GraphQLSchemaHost,
    private readonly config: AppConfigService,
    private readonly auth: AuthService,
    private readonly pubsub: RedisPubSubService,
    private readonly breaker: RedisCircuitBreaker,
    private readonly clock: Clock,
  ) {}

  private track(digest: string, mailbox: string, socket: WebSocket): void {
    const tracked = this.socketsByToken.get(digest) ?? { mailbox, sockets: new Set<WebSocket>() };
    tracked.sockets.add(socket);
    this.socketsByToken.set(digest, tracked);
    socket.once('close', () => {
      tracked.sockets.delete(socket);
      if (tracked.sockets.size === 0) this.socketsByToken.delete(digest);
    });
  }

  /**
   * Revocations that never came (published while the subscriber connection was down, or
   * never published): every token with an open connection is checked again, and those no
   * longer held end theirs. One check at a time: the next waits for it.
   */
  private recheckTokens(): void {
    if (this.rechecking || this.socketsByToken.size === 0) return;
    this.rechecking = true;
    // Each token on its own: one whose check fails waits for the next sweep, and the sweep is
    // not run again for it (whenStoreAnswers repeats what throws).
    const check = async (): Promise<void> => {
      const checks = await Promise.allSettled(
        [...this.socketsByToken].map(async ([digest, { mailbox }]) => {
          if (!(await this.auth.stillHeld(mailbox, digest))) this.closeRevoked(digest);
        }),
      );
      const failed = checks.filter((result) => result.status === 'rejected');
      if (failed.length > 0) {
        this.logger.warn(
          `${failed.length} tokens with open WebSockets not checked again: ${String(failed[0].reason)}`,
        );
      }
    };
    whenStoreAnswers(this.breaker, this.clock, () => this.closing, check)
      .catch((error: unknown) =>
        this.logger.warn(
          `tokens with open WebSockets not checked again: ${(error as Error).message}`,
        ),
      )
      .finally(() => {
        this.rechecking = false;
      });
  }

  /** Ends every connection opened with a token that was just rotated or revoked. */
  private closeRevoked(digest: string): void {
    for (const socket of this.socketsByToken.get(digest)?.sockets ?? []) {
      this.logger.debug({
        reqId: this.contexts.get(socket)?.extra.connectionId,
        msg: 'WebSocket closed: its token was rotated or revoked',
      });
      socket.close(TOKEN_REVOKED, 'token revoked');
    }
  }

  /**
   * Listens for revoked tokens. Not awaited: a service started while Redis is away must still
   * open its port (liveness never depends on Redis); the SUBSCRIBE completes when Redis comes.
   */
  onModuleInit(): void {
    const stopOnReconnect = this.pubsub.onReconnect(() => this.recheckTokens());
    // While Redis is away the sweep waits for it: the reconnect starts one then.
    const timer = setInterval(() => {
      if (this.breaker.closed) this.recheckTokens();
    }, TOKEN_RECHECK_MS);
    timer.unref();
    this.stopRechecking = () => {
      stopOnReconnect();
      clearInterval(timer);
    };
    this.pubsub
      .subscribe(this.auth.revocationChannel(), (payload) => {
        const { digest } = payload as { digest: string };
        this.auth.forget(digest);
        this.closeRevoked(digest);
      })
      .then((stop) => {
        this.stopListening = stop;
      })
      .catch((error: unknown) =>
        this.logger.warn(`revocations not followed: ${(error as Error).message}`),
      );
  }

  /** Open WebSocket connections. */
  get connections(): number {
    return this.wss?.clients.size ?? 0;
  }

  /** Sockets closed so far because their reader lagged. */
  get closedLagging(): number {
    return this.lagging;
  }

  /** The bytes each open socket holds unsent. */
  unsentBytes(): number[] {
    return [...(this.wss?.clients ?? [])].map((socket) => socket.bufferedAmount);
  }

  /**
   * Closes a socket whose reader lagged, and ends its subscriptions at once: the close frame
   * waits behind the unsent bytes (ws destroys the socket if the reader never gets to it),
   * and meanwhile its feeds must stop holding events for it.
   */
  private closeLagging(socket: WebSocket, connectionId: string): void {
    this.lagging += 1;
    const limit = this.config.limits.maxSocketBufferedBytes;
    this.logger.warn({
      reqId: connectionId,
      msg: `WebSocket closed (${LAGGING_CLOSE_CODE}): reader too slow, over ${limit} bytes unsent for ${LAG_GRACE_MS} ms`,
    });
    socket.close(
      LAGGING_CLOSE_CODE,
      `reader too slow: over ${limit} bytes unsent; resubscribe with after = the last id received`,
    );
    const context = this.contexts.get(socket);
    for (const [id, subscription] of Object.entries(context?.subscriptions ?? {})) {
      const end = (subscription as Partial<AsyncGenerator<unknown>> | null)?.return;
      if (typeof end !== 'function') continue;
      end.call(subscription, undefined).catch((error: unknown) =>
        this.logger.warn({
          reqId: subscriptionId(connectionId, id),
          msg: `a lagging subscription did not end: ${(error as Error).message}`,
        }),
      );
    }
  }

  /** Pings every socket; one that does not answer within the interval is cut. */
  private keepAlive(socket: WebSocket): () => void {
    let pongWait: NodeJS.Timeout | null = null;
    const interval = setInterval(() => {
      if (socket.readyState !== WebSocket.OPEN) return;
      pongWait = setTimeout(() => socket.terminate(), KEEP_ALIVE_MS);
      socket.once('pong', () => {
        if (pongWait) clearTimeout(pongWait);
        pongWait = null;
      });
      socket.ping();
    }, KEEP_ALIVE_MS);
    return () => {
      clearInterval(interval);
      if (pongWait) clearTimeout(pongWait);
    };
  }

  /**
   * What graphql-ws's `useServer` does for each socket (graphql-ws offers it as a starter to
   * adapt), with the service's own `send`.
   */
  private serve(wss: WebSocketServer, server: ProtocolServer<SocketExtra>): void {
    const limit = this.config.limits.maxSocketBufferedBytes;
    wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
      const connectionId = this.connectionIds.get(request) ?? requestId(undefined);
      const internalError = (error: unknown): void => {
        this.logger.error({
          reqId: connectionId,
          msg: `WebSocket failed: ${(error as Error).message}`,
        });
        socket.close(CloseCode.InternalServerError, 'Internal server error');
      };
      socket.once('error', internalError);
      const stopPinging = this.keepAlive(socket);
      const backpressure = new SocketBackpressure(socket, {
        limit,
        graceMs: LAG_GRACE_MS,
        onLagging: () => this.closeLagging(socket, connectionId),
      });
      const payloads = new SharedPayloads();
      const extra: SocketExtra = { socket, request, connectionId, payloads, frameBytes: 0 };
      const closed = server.opened(
        {
          protocol: socket.protocol,
          send: (data) => {
            // The upgrade request's socket is the connection the WebSocket writes to.
            this.coalescing.beforeWrite(request.socket);
            return backpressure.send(payloads.frame(data));
          },
          close: (code, reason) => socket.close(code, reason),
          onMessage: (handle) =>
            socket.on('message', (data) => {
              extra.frameBytes = frameBytes(data);
              handle(frameText(data)).catch((error: unknown) => {
                const type = serverOnlyType(error);
                if (type === null) {
                  internalError(error);
                  return;
                }
                // A bad message, closed as graphql-ws closes a malformed one; at debug only, so
                // that a client sending them (before any token) does not fill the log.
                this.logger.debug({
                  reqId: connectionId,
                  msg: `WebSocket closed (${CloseCode.BadRequest}): the client sent "${type}", a message only a server sends`,
                });
                socket.close(
                  CloseCode.BadRequest,
                  `Invalid message received: "${type}" is sent by servers only`,
                );
              });
            }),
        },
        extra,
      );
      socket.once('close', (code, reason) => {
        stopPinging();
        closed(code, reason.toString()).catch((error: unknown) =>
          this.logger.warn({
            reqId: connectionId,
            msg: `closing a WebSocket failed: ${(error as Error).message}`,
          }),
        );
      });
    });
  }

  onApplicationBootstrap(): void {
    const httpServer = this.adapterHost.httpAdapter.getHttpServer() as Server;
    const limits = this.config.limits;
    const wss = new WebSocketServer({
      noServer: true,
      path: GRAPHQL_PATH,
      maxPayload: limits.maxRequestBytes,
      handleProtocols: (protocols) => handleProtocols(protocols),
    });
    // Echoed as over HTTP, so that a client which sent no id can quote the one it was given.
    wss.on('headers', (headers, request) => {
      const id = this.connectionIds.get(request);
      if (id !== undefined) headers.push(`x-request-id: ${id}`);
    });
    httpServer.on('upgrade', (request, socket, head) => {
      const path = (request.url ?? '').split('?')[0];
      if (path !== GRAPHQL_PATH) {
        socket.destroy();
        return;
      }
      // Shutting down: a client that reconnects at once must go elsewhere. A socket accepted
      // now would have no server behind it and would hold the HTTP server's close open.
      if (this.closing) {
        socket.end(
          'HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n',
        );
        return;
      }
      // A page on another site may not open a socket here: with AUTH_ENABLED=false it would
      // act as the admin. Only pages of the hosts MCP_ALLOWED_ORIGINS lists may. With
      // authentication on, a page needs a token as well (sent in the connection's first
      // message, never a cookie), so the service's own pages may too, wherever it is served:
      // an Origin equal to the Host (which DNS rebinding can fake, but not the token).
      const { origin, host } = request.headers;
      const ownPage = this.config.auth.enabled && sameOrigin(origin, host);
      if (!ownPage && !originAllowed(origin, this.config.mcp.allowedOrigins)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      // The same rule as an HTTP request's id (see createApp).
      this.connectionIds.set(request, requestId(request.headers['x-request-id']));
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
    });
    const schema = this.schemaHost.schema;
    const documents = ValidDocuments.forService(schema, this.config.isProduction, {
      maxTokens: limits.maxDocumentTokens,
      maxBytes: limits.maxDocumentBytes,
    });
    // The documents sent again and again run compiled (queries, mutations and each event).
    const compiled = CompiledExecution.forService();
    const server = makeServer<Record<string, unknown> | undefined, SocketExtra>({
      schema,
      execute: compiled.execute,
      // Subscribers of one feed with the same selection share each event's execution.
      subscribe: (args) => sharedSubscribe(args, compiled.execute),
      // The token is checked before the connection is acknowledged: a bad one is closed
      // (4403) before any event flows.
      // A connection gone: nothing of it is left to answer, whatever is still running.
      onClose: (ctx) => {
        const singles = this.singles.get(ctx);
        if (!singles) return;
        for (let left = singles.size; left > 0; left -= 1) this.settled();
        singles.clear();
      },
      onConnect: async (ctx) => {
        this.contexts.set(ctx.extra.socket, ctx);
        const authorization = ctx.connectionParams?.authorization;
        // graphql-ws keeps connection_init's payload on the context for the socket's life, and
        // nothing but the token, read here once, is wanted from it: a payload of megabytes
        // would be held for as long.
        delete (ctx as { connectionParams?: unknown }).connectionParams;
        try {
          const principal = await this.auth.authenticate(authorization);
          this.principals.set(ctx, principal);
          if (principal.kind === 'mailbox') {
            this.track(principal.tokenDigest, principal.mailbox, ctx.extra.socket);
          }
          return true;
        } catch (error) {
          // The close tells the client why; at debug only, so that a client retrying with a bad
          // token does not fill the log (a Redis that cannot check tokens is logged elsewhere).
          this.logger.debug({
            reqId: ctx.extra.connectionId,
            msg: `WebSocket refused (${CloseCode.Forbidden}): ${(error as Error).message}`,
          });
          return false;
        }
      },
      onSubscribe: (ctx, id, payload) => {
        // Before the id goes anywhere (a log line, the sets below, every frame sent for it).
        if (id.length > MAX_OPERATION_ID_LENGTH) {
          this.logger.debug({
            reqId: ctx.extra.connectionId,
            msg: `operation refused: an id of ${id.length} characters`,
          });
          return [
            new GraphQLError(
              `id: ${id.length} characters; the limit is ${MAX_OPERATION_ID_LENGTH}`,
              {
                extensions: { code: 'BAD_USER_INPUT', field: 'id', limit: MAX_OPERATION_ID_LENGTH },
              },
            ),
          ];
        }
        const reqId = subscriptionId(ctx.extra.connectionId, id);
        // Told to the client in its error message; at debug, for following one client's
        // trouble by its id.
        const refuse = (errors: readonly GraphQLError[]): readonly GraphQLError[] => {
          this.logger.debug({
            reqId,
            msg: `subscription refused: ${errors.map((error) => error.message).join('; ')}`,
          });
          return errors;
        };
        // The same checks and refusals as over HTTP (graphql-http.driver.ts).
        const checked = documents.operation(payload.query, payload.operationName);
        if ('errors' in checked) return refuse(checked.errors);
        const { document, operation } = checked;
        const variableValues = declaredVariables(operation, payload.variables);
        const variableRefusal = refusedVariable(schema, operation, variableValues);
        if (variableRefusal) return refuse([variableRefusal]);
        // An operation completed by the client before it ended holds its id until it ends:
        // graphql-ws keeps one operation per id, and the same id again would run beside it.
        // A subscription would run uncounted and outlive the socket; a query or a mutation
        // would be given the first one's answer, and the second's end would never be counted.
        if (this.active.get(ctx)?.has(id) || this.singles.get(ctx)?.has(id)) {
          return refuse([
            new GraphQLError(
              `id: operation ${JSON.stringify(id)} of this connection is still ending; subscribe with another id`,
              { extensions: { code: 'BAD_USER_INPUT', field: 'id' } },
            ),
          ]);
        }
        // Subscriptions and the rest hold slots of their own: a query or a mutation is
        // answered once and ends, and a connection at its subscription cap can still send.
        if (operation.operation === OperationTypeNode.SUBSCRIPTION) {
          if (ctx.extra.frameBytes > MAX_SUBSCRIBE_FRAME_BYTES) {
            return refuse([
              new GraphQLError(
                `subscribe: a message of ${ctx.extra.frameBytes} bytes; the limit for a subscription is ${MAX_SUBSCRIBE_FRAME_BYTES}`,
                {
                  extensions: {
                    code: 'BAD_USER_INPUT',
                    field: 'payload',
                    limit: MAX_SUBSCRIBE_FRAME_BYTES,
                  },
                },
              ),
            ]);
          }
          const ids = this.active.get(ctx) ?? new Set<string>();
          this.active.set(ctx, ids);
          if (ids.size >= limits.subscriptionsPerSocket) {
            return refuse([
              new GraphQLError(
                `subscriptions: this connection already has ${ids.size} subscriptions; the limit is ${limits.subscriptionsPerSocket} per connection`,
                { extensions: { code: 'RATE_LIMITED', limit: limits.subscriptionsPerSocket } },
              ),
            ]);
          }
          ids.add(id);
        } else {
          // Shutting down: no new operation starts here (it could not be answered); one that
          // started is answered before its socket closes.
          if (this.closing) {
            return refuse([
              new GraphQLError(
                'this instance is shutting down: send it again on a new connection',
                {
                  extensions: { code: 'SERVICE_UNAVAILABLE', retryAfterSeconds: 1 },
                },
              ),
            ]);
          }
          const singles = this.singles.get(ctx) ?? new Set<string>();
          this.singles.set(ctx, singles);
          if (singles.size >= OPERATIONS_PER_SOCKET) {
            return refuse([
              new GraphQLError(
                `operations: this connection already has ${singles.size} queries and mutations under way; the limit is ${OPERATIONS_PER_SOCKET} per connection`,
                { extensions: { code: 'RATE_LIMITED', limit: OPERATIONS_PER_SOCKET } },
              ),
            ]);
          }
          singles.add(id);
          this.inFlight += 1;
        }
        const context: GraphqlContext & { socket: unknown } = {
          principal: this.principals.get(ctx),
          requestId: reqId,
          socket: ctx.extra.socket,
        };
        return {
          schema,
          document,
          variableValues,
          operationName: payload.operationName,
          contextValue: context,
        };
      },
      onComplete: (ctx, id) => {
        this.active.get(ctx)?.delete(id);
        if (this.singles.get(ctx)?.delete(id)) this.settled();
        ctx.extra.payloads.forget(id);
      },
      // A feed that failed while it ran reaches graphql-ws as a thrown error, which it wraps
      // with the error's own message and no code: told here as any resolver's error is.
      onError: (ctx, id, _payload, errors) =>
        errors.map((error) => {
          const told =
            error.extensions.code === undefined && error.originalError
              ? toGraphqlError(
                  error.originalError,
                  'a subscription',
                  subscriptionId(ctx.extra.connectionId, id),
                )
              : error;
          return formatError(told.toJSON());
        }),
      // A subscription's result without errors is serialized once for all the subscribers it
      // is shared by. A query's or a mutation's single result (graphql-ws holds no iterator
      // for it) is shared by no one: graphql-ws serializes it as it is.
      onNext: (ctx, id, _payload, _args, result) => {
        if (result.errors) return { ...result, errors: result.errors.map(formatResultError) };
        return ctx.subscriptions[id] ? ctx.extra.payloads.payload(id, result) : undefined;
      },
    });
    this.serve(wss, server);
    this.wss = wss;
    this.dispose = () =>
      new Promise<void>((resolve, reject) => {
        wss.removeAllListeners('connection');
        wss.close((error) => (error ? reject(error) : resolve()));
      });
  }

  /**
   * Closes every socket with 1001 (going away) so clients reconnect elsewhere and resume.
   * Runs before the GraphQL module's own teardown, whose HTTP drain would otherwise cut the
   * upgraded sockets without a close frame.
   */
  async onModuleDestroy(): Promise<void> {
    this.closing = true;
    this.stopRechecking();
    await this.stopListening?.();
    if (!this.wss) return;
    // A send in flight on a socket is answered before the socket closes: closed first, its
    // client would not know it went through, and send it again.
    await this.answersInFlight(IN_FLIGHT_WAIT_MS);
    for (const client of this.wss.clients) client.close(GOING_AWAY, 'server shutting down');
    await this.dispose?.();
    this.wss = null;
    this.logger.log('WebSocket server closed');
  }
}
