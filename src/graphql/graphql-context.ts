import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../auth/auth.decorators';

/**
 * Each GraphQL operation's context, over HTTP and over WebSocket: what the guard reads, and
 * the id that lines logged about the operation carry as `reqId`. Over HTTP that is the
 * request's id (Fastify's `request.id`, echoed in `x-request-id`); over WebSocket it is
 * `<connection id>:<graphql-ws message id>`, one per subscription.
 */
export interface GraphqlContext extends RequestContext {
  requestId: string;
}

/** Each GraphQL operation's context over HTTP, from its Fastify request. */
export function graphqlContext(request: FastifyRequest): GraphqlContext {
  return { req: request, requestId: request.id };
}
