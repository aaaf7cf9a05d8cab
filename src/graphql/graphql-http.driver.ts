import { Injectable } from '@nestjs/common';
import { AbstractGraphQLDriver, type GqlModuleOptions } from '@nestjs/graphql';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  GraphQLError,
  OperationTypeNode,
  type ExecutionResult,
  type GraphQLFormattedError,
} from 'graphql';
import {
  createHandler,
  type Request as HttpRequest,
  type RequestParams,
  type Response,
} from 'graphql-http';
import { CompiledExecution } from './compiled-execution';
import { graphqlContext, type GraphqlContext } from './graphql-context';
import { formatError, httpStatusOf, toGraphqlError } from './graphql-error';
import { WebsocketRequiredError } from './graphql-transport.errors';
import { formatResultError } from './operation-errors';
import { refusedVariable } from './variable-fields';
import { ValidDocuments, type DocumentOptions } from './valid-documents';

export interface GraphqlHttpDriverConfig extends GqlModuleOptions {
  /** The parser's and the document checks' limits. */
  documents: DocumentOptions;
  /** Production: no introspection, no "Did you mean" hints about the schema. */
  production: boolean;
}

type GraphqlRequest = HttpRequest<FastifyRequest, undefined>;

/** graphql-http types an operation's context as a record. */
type HttpContext = GraphqlContext & Record<PropertyKey, unknown>;

/**
 * Headers a browser only sends after a CORS preflight, so a request carrying one cannot be a
 * simple cross-site request. The names GraphQL clients already send for this (Apollo's).
 */
const PREFLIGHT_HEADERS = ['apollo-require-preflight', 'x-apollo-operation-name'];

/** Content types a cross-site form or `fetch` may POST without a CORS preflight. */
const SIMPLE_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data'];

const JSON_TYPE = 'application/json; charset=utf-8';
const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json; charset=utf-8';

function header(request: GraphqlRequest, name: string): string {
  const value = (request.headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value.join(',') : (value ?? '');
}

/** The media type of the answer: the GraphQL response type when the client lists it first. */
function answerType(request: GraphqlRequest): string {
  const accept = header(request, 'accept').toLowerCase();
  const graphql = accept.indexOf('application/graphql-response+json');
  const json = accept.indexOf('application/json');
  return graphql !== -1 && (json === -1 || graphql < json) ? GRAPHQL_RESPONSE_TYPE : JSON_TYPE;
}

/** An answer that carries only errors, with its HTTP status. */
function errorAnswer(
  request: GraphqlRequest,
  status: number,
  errors: readonly GraphQLFormattedError[],
  headers: Record<string, string> = {},
): Response {
  return [
    JSON.stringify({ errors }),
    { status, statusText: '', headers: { ...headers, 'content-type': answerType(request) } },
  ];
}

/** A refusal of the request itself, naming the part at fault. */
function badRequest(
  request: GraphqlRequest,
  field: string,
  message: string,
  status = 400,
  headers: Record<string, string> = {},
): Response {
  const refusal = { message, extensions: { code: 'BAD_USER_INPUT', field } };
  return errorAnswer(request, status, [refusal], headers);
}

/** A document's refusals, as ValidDocuments coded them. */
function refused(request: GraphqlRequest, errors: readonly GraphQLError[]): Response {
  return errorAnswer(
    request,
    400,
    errors.map((error) => formatError(error.toJSON())),
  );
}

/**
 * CSRF prevention (as Apollo Server's): a GET, or a POST whose type a cross-site form may
 * send, runs only with a header that forces a preflight. A JSON POST always forces one.
 */
function crossSiteRefusal(request: GraphqlRequest): Response | null {
  const type = header(request, 'content-type').split(';')[0].trim().toLowerCase();
  const simple = request.method === 'GET' || type === '' || SIMPLE_TYPES.includes(type);
  if (!simple || PREFLIGHT_HEADERS.some((name) => header(request, name) !== '')) return null;
  return badRequest(
    request,
    'content-type',
    `This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). Send it as a POST with content-type application/json, or with a non-empty ${PREFLIGHT_HEADERS.join(' or ')} header.`,
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The operation's parameters from a GET's query string; JSON that does not parse is refused. */
function urlParameters(request: GraphqlRequest): Record<string, unknown> | Response {
  const search = new URLSearchParams(request.url.split('?')[1] ?? '');
  const parameters: Record<string, unknown> = {
    query: search.get('query') ?? undefined,
    operationName: search.get('operationName') ?? undefined,
  };
  for (const field of ['variables', 'extensions']) {
    const text = search.get(field);
    if (text === null) continue;
    try {
      parameters[field] = JSON.parse(text) as unknown;
    } catch {
      return badRequest(request, field, `${field}: not valid JSON`);
    }
  }
  return parameters;
}

/** The operation's parameters from a POST's body, read, limited and parsed in createApp. */
function bodyParameters(request: GraphqlRequest): Record<string, unknown> | Response {
  const body = request.raw.body;
  if (Array.isArray(body)) {
    return badRequest(
      request,
      'body',
      'request body: batched operations are not supported; send one operation per request',
    );
  }
  if (isObject(body)) return body;
  const type = header(request, 'content-type');
  return badRequest(
    request,
    'content-type',
    `request body: content-type "${type}" is not supported; send application/json`,
    415,
  );
}

/**
 * The operation a request carries: a JSON POST body or a GET's query string, after the CSRF
 * check. Each refusal names the field at fault.
 */
function requestParameters(request: GraphqlRequest): RequestParams | Response {
  if (request.method !== 'GET' && request.method !== 'POST') {
    const message = `method: ${request.method} is not allowed`;
    return badRequest(request, 'method', message, 405, { allow: 'GET, POST' });
  }
  const crossSite = crossSiteRefusal(request);
  if (crossSite) return crossSite;
  const parameters = request.method === 'GET' ? urlParameters(request) : bodyParameters(request);
  if (Array.isArray(parameters)) return parameters as Response;
  const { query, variables, operationName, extensions } = parameters as Record<string, unknown>;
  if (query === undefined || query === null || query === '') {
    return badRequest(
      request,
      'query',
      'query: missing; the request must carry a GraphQL document (POST body missing, or no "query" in it)',
    );
  }
  if (typeof query !== 'string') return badRequest(request, 'query', 'query: must be a string');
  if (variables != null && !isObject(variables))
    return badRequest(request, 'variables', 'variables: must be a JSON object');
  if (operationName != null && typeof operationName !== 'string')
    return badRequest(request, 'operationName', 'operationName: must be a string');
  if (extensions != null && !isObject(extensions))
    return badRequest(request, 'extensions', 'extensions: must be a JSON object');
  return { query, variables, operationName, extensions };
}

/**
 * GraphQL over HTTP on the service's Fastify instance: graphql-http (the GraphQL over HTTP
 * specification's reference server) on `path`, for GET and POST, with the same document
 * checks, guards, context and error codes as the WebSocket (graphql-ws.server.ts). A Nest
 * GraphQL driver, the framework's documented way to serve the schema it builds from the
 * resolvers: Nest still builds the schema (code-first, `schema.gql`) and wraps every
 * resolver in its guards and filters; the driver only carries operations to it.
 *
 * A document is parsed and validated once per distinct text (ValidDocuments), then each
 * request executes the cached tree, compiled once it is sent again (CompiledExecution). A
 * request error (a document refused, a variable of the wrong type) is answered with HTTP 400;
 * an operation that ran with 200, its errors beside its data.
 */
@Injectable()
export class GraphqlHttpDriver extends AbstractGraphQLDriver<GraphqlHttpDriverConfig> {
  start(options: GraphqlHttpDriverConfig): Promise<void> {
    const schema = options.schema;
    if (!schema) throw new Error('GraphqlHttpDriver: the schema was not built');
    const path = options.path ?? '/graphql';
    const documents = ValidDocuments.forService(schema, options.production, options.documents);
    const subscriptionRefusal = toGraphqlError(new WebsocketRequiredError(path), 'HTTP');
    const compiled = CompiledExecution.forService();
    const handle = createHandler<FastifyRequest, undefined, HttpContext>({
      schema,
      execute: compiled.execute,
      parseRequestParams: requestParameters,
      onSubscribe: (request, parameters) => {
        const checked = documents.operation(parameters.query, parameters.operationName);
        if ('errors' in checked) return refused(request, checked.errors);
        const { document, operation } = checked;
        if (operation.operation === OperationTypeNode.SUBSCRIPTION) {
          const status = httpStatusOf('WEBSOCKET_REQUIRED');
          return errorAnswer(request, status, [subscriptionRefusal.toJSON()]);
        }
        if (operation.operation === OperationTypeNode.MUTATION && request.method === 'GET') {
          const message = 'method: a mutation is sent with POST, not GET';
          return badRequest(request, 'method', message, 405, { allow: 'POST' });
        }
        const variableRefusal = refusedVariable(schema, operation, parameters.variables);
        if (variableRefusal) return refused(request, [variableRefusal]);
        return {
          schema,
          document,
          operationName: parameters.operationName,
          variableValues: parameters.variables,
          contextValue: graphqlContext(request.raw) as HttpContext,
        };
      },
      onOperation: (request, _args, result: ExecutionResult) => {
        if (!result.errors) return undefined;
        // No data: the operation did not run (a variable of the wrong type, or missing).
        const status = 'data' in result ? 200 : 400;
        return [
          JSON.stringify({ ...result, errors: result.errors.map(formatResultError) }),
          { status, statusText: '', headers: { 'content-type': answerType(request) } },
        ];
      },
    });
    const adapter = this.httpAdapterHost.httpAdapter;
    if (adapter.getType() !== 'fastify')
      throw new Error(
        `GraphqlHttpDriver serves on Nest's Fastify adapter, not ${adapter.getType()}`,
      );
    const fastify = adapter.getInstance<FastifyInstance>();
    // Every method: one other than GET and POST is answered 405 with the two it may use.
    fastify.all(path, async (request: FastifyRequest, reply: FastifyReply) => {
      const [body, init] = await handle({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: null,
        raw: request,
        context: undefined,
      });
      return reply
        .status(init.status)
        .headers(init.headers ?? {})
        .send(body ?? undefined);
    });
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}
