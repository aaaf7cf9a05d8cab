import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { GraphQLError } from 'graphql';
import type { Context } from 'graphql-ws';
import { useServer, type Extra } from 'graphql-ws/use/ws';
import type { Server } from 'node:http';
import { WebSocketServer } from 'ws';
import { AppConfigService } from '../config/app-config.service';
import { formatError } from './graphql-error';

export const GRAPHQL_PATH = '/graphql';
/** WebSocket close code 1001: the endpoint is going away. */
const GOING_AWAY = 1001;

type WsContext = Context<Record<string, unknown> | undefined, Extra & Record<PropertyKey, unknown>>;

/**
 * GraphQL subscriptions over graphql-ws (sub-protocol `graphql-transport-ws`) on the HTTP
 * server's `/graphql`. Set up here rather than by @nestjs/graphql so that the frame limit,
 * the per-socket subscription cap and the shutdown are the service's own.
 */
@Injectable()
export class GraphqlWsServer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(GraphqlWsServer.name);
  private wss: WebSocketServer | null = null;
  private dispose: (() => Promise<void> | void) | null = null;
  private readonly active = new WeakMap<WsContext, Set<string>>();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly schemaHost: GraphQLSchemaHost,
    private readonly config: AppConfigService,
  ) {}

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
    const disposable = useServer<Record<string, unknown> | undefined>(
      {
        schema: this.schemaHost.schema,
        context: (ctx) => ({ connectionParams: ctx.connectionParams, socket: ctx.extra.socket }),
        onSubscribe: (ctx, id) => {
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
          ids.add(id);
          return undefined;
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
    if (!this.wss) return;
    for (const client of this.wss.clients) client.close(GOING_AWAY, 'server shutting down');
    await this.dispose?.();
    this.wss = null;
    this.logger.log('WebSocket server closed');
  }
}
