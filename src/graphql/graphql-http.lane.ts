import { HeaderMap, type ApolloServer, type HTTPGraphQLResponse } from '@apollo/server';
import type { ApolloDriver } from '@nestjs/apollo';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost, ModuleRef } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { AppConfigService } from '../config/app-config.service';
import { graphqlContext } from './graphql-context';
import { GRAPHQL_PATH } from './graphql-ws.server';
import { bodyRefusal, parseJsonBody, requireUtf8, type BodyFailure } from './request-body';

type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

/** `application/json`, alone or with `charset=utf-8`: what the lane reads itself. */
const PLAIN_JSON = /^application\/json\s*(;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * POST /graphql with a plain JSON body, handed from Node's HTTP server straight to Apollo.
 *
 * Express's router, body parser and response helpers cost about a sixth of the service's
 * CPU per mutation, and nothing in them is needed for this one request shape: the lane
 * reads the body (declared length within MAX_REQUEST_BYTES), parses it as Express's JSON
 * parser would, runs Apollo (CSRF prevention, batching refusal, validation rules, guards,
 * error formatting: all Apollo's and Nest's, unchanged) and writes the answer. Everything
 * else (other paths and methods, compressed, chunked, oversized or non-JSON bodies) goes
 * to Express as before, so every refusal is answered the same way on both paths.
 */
@Injectable()
export class GraphqlHttpLane implements OnApplicationBootstrap {
  private readonly logger = new Logger(GraphqlHttpLane.name);
  private readonly limit: number;
  private apollo: ApolloServer | undefined;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly modules: ModuleRef,
    config: AppConfigService,
  ) {
    this.limit = config.limits.maxRequestBytes;
  }

  onApplicationBootstrap(): void {
    const adapter = this.adapterHost.httpAdapter;
    const server = adapter.getHttpServer() as Server;
    const express = adapter.getInstance<RequestListener>();
    const graphql = this.modules.get<GraphQLModule<ApolloDriver>>(GraphQLModule, { strict: false });
    // The cast: Nest types the server from @apollo/server's ESM build, this file from the CJS
    // one; at run time both are the one Nest created from the CJS build.
    this.apollo = graphql.graphQlAdapter.instance as unknown as ApolloServer | undefined;
    const listeners = server.listeners('request') as RequestListener[];
    if (!this.apollo || !listeners.includes(express)) {
      this.logger.warn('POST /graphql stays on Express: its request listener was not found');
      return;
    }
    const lane: RequestListener = (req, res) => {
      if (this.takes(req)) this.serve(req, res);
      else express(req, res);
    };
    server.removeAllListeners('request');
    for (const listener of listeners) server.on('request', listener === express ? lane : listener);
  }

  /** Whether the request is one the lane serves whole; anything else is Express's. */
  private takes(req: IncomingMessage): boolean {
    if (req.method !== 'POST' || req.url !== GRAPHQL_PATH) return false;
    const { headers } = req;
    const type = headers['content-type'];
    if (type === undefined || !PLAIN_JSON.test(type)) return false;
    const encoding = headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') return false;
    const declared = headers['content-length'];
    return declared !== undefined && Number(declared) <= this.limit;
  }

  private serve(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('error', () => res.destroy());
    req.on('end', () => {
      let body: unknown;
      try {
        const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
        requireUtf8(raw);
        body = parseJsonBody(raw.toString('utf8'));
      } catch (error) {
        this.refuse(res, { tooLarge: false, reason: (error as Error).message });
        return;
      }
      this.execute(req, res, body).catch((error: unknown) => {
        this.logger.error(`POST ${GRAPHQL_PATH} failed: ${(error as Error).message}`);
        if (!res.headersSent) this.answer(res, 500, JSON.stringify(INTERNAL_ERROR));
        else res.destroy();
      });
    });
  }

  private async execute(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const headers = new HeaderMap();
    for (const name in req.headers) {
      const value = req.headers[name];
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const response = await (this.apollo as ApolloServer).executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: 'POST', headers, search: '', body },
      context: () => Promise.resolve(graphqlContext({ req })),
    });
    await this.write(res, response);
  }

  private async write(res: ServerResponse, response: HTTPGraphQLResponse): Promise<void> {
    for (const [name, value] of response.headers) res.setHeader(name, value);
    const status = response.status ?? 200;
    if (response.body.kind === 'complete') {
      this.answer(res, status, response.body.string);
      return;
    }
    res.statusCode = status;
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }

  private refuse(res: ServerResponse, failure: BodyFailure): void {
    const refusal = bodyRefusal(failure, this.limit);
    res.setHeader('content-type', 'application/json; charset=utf-8');
    this.answer(res, refusal.status, JSON.stringify(refusal.body));
  }

  private answer(res: ServerResponse, status: number, text: string): void {
    res.statusCode = status;
    res.setHeader('content-length', Buffer.byteLength(text));
    res.end(text);
  }
}

const INTERNAL_ERROR = {
  errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }],
};
