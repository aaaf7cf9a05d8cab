import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { AppModule } from './app.module';
import { requestBodyLimit } from './config/app-config.service';
import { processEnvironment, validateEnvironment } from './config/environment';
import { BodyError, parseJsonBody } from './graphql/request-body';
import { LifecycleService } from './health/lifecycle.service';
import { requestId } from './logging/request-id';

/** How long a request (headers and body) may take to arrive. */
export const REQUEST_TIMEOUT_MS = 300_000;

/** The JSON types a GraphQL client sends. */
const JSON_TYPES = ['application/json', 'application/graphql-response+json'];

/** Decoders for the content encodings a client may compress a body with. */
const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};

type Decoded = PassThrough & { receivedEncodedLength?: number };

/**
 * A compressed body read through its decoder; the decoded bytes count against the limit.
 * Data the decoder cannot read (corrupt or cut short) is the client's error: 400.
 */
function decoded(request: FastifyRequest, payload: Readable, limit: number): Readable {
  const encoding = String(request.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity') return payload;
  const decoder = DECODERS[encoding];
  if (!decoder) throw new BodyError(415, `content-encoding "${encoding}" is not supported`);
  const inflate = decoder();
  // What Fastify reads: the decoder's output, failed with a refusal of our own when the
  // decoder fails (zlib's Z_DATA_ERROR, Z_BUF_ERROR...), which Fastify would answer as 500.
  const stream: Decoded = new PassThrough();
  payload.pipe(inflate).pipe(stream);
  stream.receivedEncodedLength = 0;
  payload.on('data', (chunk: Buffer) => {
    stream.receivedEncodedLength = (stream.receivedEncodedLength ?? 0) + chunk.length;
  });
  payload.on('error', (error) => stream.destroy(error));
  inflate.on('error', (error: Error) => {
    stream.destroy(new BodyError(400, `not valid ${encoding} data (${error.message})`));
  });
  // Past the limit the decoder stops at once, refused as Fastify refuses a body too large: a
  // small body that decodes to gigabytes is not decoded on after its answer (Fastify stops
  // reading the stream it is given, but nothing stops the decoder feeding it).
  let decodedBytes = 0;
  inflate.on('data', (chunk: Buffer) => {
    decodedBytes += chunk.length;
    if (decodedBytes <= limit) return;
    payload.unpipe(inflate);
    inflate.destroy();
    stream.destroy(
      Object.assign(new Error('request body is too large'), {
        code: 'FST_ERR_CTP_BODY_TOO_LARGE',
        statusCode: 413,
      }),
    );
  });
  // Fastify gave up on the body: the decoder has nothing more to do.
  stream.on('close', () => inflate.destroy());
  // An error after Fastify has answered and let go of the stream (the decoder's, or the
  // limit's above) has no one left to tell: it must not end the process as an unhandled one.
  stream.on('error', () => undefined);
  return stream;
}

export interface CreateAppOptions {
  /** Replace variables of the process environment (tests start apps side by side). */
  environment?: Record<string, string | undefined>;
  logger?: false | Array<'fatal' | 'error' | 'warn' | 'log' | 'debug' | 'verbose'>;
  bufferLogs?: boolean;
}

/**
 * The service on Nest's Fastify adapter: one pipeline for every request. Bodies are limited
 * to a full-size message and its envelope (Fastify refuses a declared length over it before
 * reading, and counts decompressed bytes too); JSON is read as bytes and refused unless it is
 * UTF-8 and an object or array; refusals reach the error filter, which answers them as
 * GraphQL errors.
 */
export async function createApp(options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const environment = options.environment ?? {};
  const variables = validateEnvironment({ ...processEnvironment(), ...environment });
  const bodyLimit = requestBodyLimit(variables);
  const adapter = new FastifyAdapter({
    bodyLimit,
    // A request must arrive whole within this long: a client that sends part of a body and
    // stops holds its connection no longer. Node's own default, which Fastify turns off.
    requestTimeout: REQUEST_TIMEOUT_MS,
    // The client's x-request-id when it sends a sane one, else a new one; echoed back, and
    // carried as `reqId` by what is logged about its GraphQL operation.
    genReqId: (request: IncomingMessage) => requestId(request.headers['x-request-id']),
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(environment),
    adapter,
    {
      bodyParser: false,
      bufferLogs: options.bufferLogs ?? false,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    },
  );
  const fastify = adapter.getInstance();
  fastify.removeContentTypeParser(['application/json', 'text/plain']);
  fastify.addContentTypeParser(JSON_TYPES, { parseAs: 'buffer' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as Buffer, variables.GRAPHQL_MAX_DOCUMENT_BYTES));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // Any other type is read (within the limit) and left to the GraphQL route, whose CSRF
  // prevention and own checks answer it.
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, _body, done) => {
    done(null, undefined);
  });
  const lifecycle = app.get(LifecycleService);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  // Shutting down: each answer closes its connection, so that a keep-alive connection whose
  // request was in flight at SIGTERM does not hold the server's close open after it.
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    if (lifecycle.stopping) void reply.header('connection', 'close');
    done(null, payload);
  });
  fastify.addHook('preParsing', (request, _reply, payload, done) => {
    try {
      done(null, decoded(request, payload, bodyLimit));
    } catch (error) {
      done(error as Error);
    }
  });
  return app;
}
