import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { GraphQLError, specifiedRules } from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { Server } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RequestContext } from '../auth/auth.decorators';
import { AuthService } from '../auth/auth.service';
import type { Principal } from '../auth/principal';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import { AppConfigService } from '../config/app-config.service';
import { formatError } from './graphql-error';
import { sharedSubscribe } from './shared-execution';
import { ValidDocuments } from './valid-documents';
import { graphqlValidationRules } from './validation-rules';

export const GRAPHQL_PATH = '/graphql';
/** WebSocket close code 1001: the endpoint is going away. */
const GOING_AWAY = 1001;
/** graphql-ws's Forbidden: the token the connection was opened with is no longer valid. */
const TOKEN_REVOKED = 4403;

type WsContext = Context<Record<string, unknown> | undefined, Extra & Record<PropertyKey, unknown>>;

/**
 * GraphQL subscriptions over graphql-ws (sub-protocol `graphql-transport-ws`) on the HTTP
 * server's `/graphql`. Set up here rather than by @nestjs/graphql so that the frame limit,
 * the per-socket subscription cap and the shutdown are the service's own.
 */
@Injectable()
export class GraphqlWsServer implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(GraphqlWsServer.name);
  private wss: WebSocketServer | null = null;
  private dispose: (() => Promise<void> | void) | null = null;
  private readonly active = new WeakMap<WsContext, Set<string>>();
  private readonly principals = new WeakMap<WsContext, Principal>();
  /** Open sockets by the digest of the token they authenticated with, for revocation. */
  private readonly socketsByToken = new Map<string, Set<WebSocket>>();
  private stopListening: (() => Promise<void>) | null = null;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly schemaHost: GraphQLSchemaHost,
    private readonly config: AppConfigService,
    private readonly auth: AuthService,
    private readonly pubsub: RedisPubSubService,
  ) {}

  private track(digest: string, socket: WebSocket): void {
    const sockets = this.socketsByToken.get(digest) ?? new Set<WebSocket>();
    sockets.add(socket);
    this.socketsByToken.set(digest, sockets);
    socket.once('close', () => {
      sockets.delete(socket);
      if (sockets.size === 0) this.socketsByToken.delete(digest);
    });
  }

  /** Ends every connection opened with a token that was just rotated or revoked. */
  private closeRevoked(digest: string): void {
    for (const socket of this.socketsByToken.get(digest) ?? []) {
      socket.close(TOKEN_REVOKED, 'token revoked');
    }
  }

  /**
   * Listens for revoked tokens. Not awaited: a service started while Redis is away must still
   * open its port (liveness never depends on Redis); the SUBSCRIBE completes when Redis comes.
   */
  onModuleInit(): void {
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

  onApplicationBootstrap(): void {
    const httpServer = this.adapterHost.httpAdapter.getHttpServer() as Server;
    const limits = this.config.limits;
    const wss = new WebSocketServer({
      noServer: true,
      path: GRAPHQL_PATH,
      maxPayload: limits.maxRequestBytes,
    });
    httpServer.on('upgrade', (request, socket, head) => {
      const path = (request.url ?? '').split('?')[0];
      if (path !== GRAPHQL_PATH) {
        socket.destroy();
        return;
      }
      wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
    });
    const schema = this.schemaHost.schema;
    const rules = [...specifiedRules, ...graphqlValidationRules(this.config.isProduction)];
    const documents = new ValidDocuments(schema, rules);
    const disposable = useServer<Record<string, unknown> | undefined>(
      {
        schema,
        // Subscribers of one feed with the same selection share each event's execution.
        subscribe: sharedSubscribe,
        // The token is checked before the connection is acknowledged: a bad one is closed
        // (4403) before any event flows.
        onConnect: async (ctx) => {
          try {
            const principal = await this.auth.authenticate(ctx.connectionParams?.authorization);
            this.principals.set(ctx, principal);
            if (principal.kind === 'mailbox') this.track(principal.tokenDigest, ctx.extra.socket);
            return true;
          } catch {
            return false;
          }
        },
        onSubscribe: (ctx, id, payload) => {
          const ids = this.active.get(ctx) ?? new Set<string>();
          this.active.set(ctx, ids);
          if (ids.size >= limits.subscriptionsPerSocket) {
            return [
              new GraphQLError(
                `subscriptions: this connection already has ${ids.size} subscriptions; the limit is ${limits.subscriptionsPerSocket} per connection`,
                { extensions: { code: 'RATE_LIMITED', limit: limits.subscriptionsPerSocket } },
              ),
            ];
          }
          // The same validation as over HTTP: @nestjs/graphql would not pass Apollo's rules here.
          const checked = documents.check(payload.query);
          if (!('document' in checked)) return checked.errors;
          const { document } = checked;
          ids.add(id);
          const context: RequestContext & { socket: unknown } = {
            principal: this.principals.get(ctx),
            socket: ctx.extra.socket,
          };
          return {
            schema,
            document,
            variableValues: payload.variables,
            operationName: payload.operationName,
            contextValue: context,
          };
        },
        onComplete: (ctx, id) => {
          this.active.get(ctx)?.delete(id);
        },
        onError: (_ctx, _id, _payload, errors) =>
          errors.map((error) => formatError(error.toJSON())),
        onNext: (_ctx, _id, _payload, _args, result) =>
          result.errors
            ? { ...result, errors: result.errors.map((error) => formatError(error.toJSON())) }
            : undefined,
      },
      wss,
    );
    this.wss = wss;
    this.dispose = () => disposable.dispose();
  }

  /**
   * Closes every socket with 1001 (going away) so clients reconnect elsewhere and resume.
   * Runs before the GraphQL module's own teardown, whose HTTP drain would otherwise cut the
   * upgraded sockets without a close frame.
   */
  async onModuleDestroy(): Promise<void> {
    await this.stopListening?.();
    if (!this.wss) return;
    for (const client of this.wss.clients) client.close(GOING_AWAY, 'server shutting down');
    await this.dispose?.();
    this.wss = null;
    this.logger.log('WebSocket server closed');
  }
}
