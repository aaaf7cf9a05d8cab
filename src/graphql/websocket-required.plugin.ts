import type { ApolloServerPlugin, GraphQLRequestListener } from '@apollo/server';
import { GraphQLError, OperationTypeNode } from 'graphql';
import { httpStatusOf, toGraphqlError } from './graphql-error';
import { WebsocketRequiredError } from './graphql-transport.errors';

/**
 * Refuses a subscription sent over HTTP with HTTP 400 and WEBSOCKET_REQUIRED, naming the
 * WebSocket to use, instead of running it: an HTTP answer cannot carry its events. Apollo
 * answers an error thrown from `didResolveOperation` with its `extensions.http` status,
 * and it comes after validation, so the document's own errors are answered first.
 */
export function websocketRequiredPlugin(path: string): ApolloServerPlugin {
  const refusal = toGraphqlError(new WebsocketRequiredError(path), 'subscription over HTTP');
  const listener: GraphQLRequestListener<Record<string, unknown>> = {
    didResolveOperation({ operation }) {
      if (operation?.operation !== OperationTypeNode.SUBSCRIPTION) return Promise.resolve();
      return Promise.reject(
        new GraphQLError(refusal.message, {
          extensions: {
            ...refusal.extensions,
            http: { status: httpStatusOf('WEBSOCKET_REQUIRED') },
          },
        }),
      );
    },
  };
  return { requestDidStart: () => Promise.resolve(listener) };
}
