import { AppError } from '../common/app-error';

/** A GraphQL document over one of the service's limits, refused before anything runs. */
export class DocumentLimitError extends AppError {
  /** The message is `query: ` and `what`, which names the figure and the limit it broke. */
  constructor(what: string, limit: number) {
    super('BAD_USER_INPUT', `query: ${what}`, { field: 'query', limit });
  }

  /** A figure measured over its limit; `atLeast` when counting stopped early. */
  static over(what: string, found: number, limit: number, atLeast = false): DocumentLimitError {
    return new DocumentLimitError(
      `${what} is ${atLeast ? 'at least ' : ''}${found}; the limit is ${limit}`,
      limit,
    );
  }
}

/** A subscription sent over HTTP, which cannot carry its events. */
export class WebsocketRequiredError extends AppError {
  constructor(path: string) {
    super(
      'WEBSOCKET_REQUIRED',
      `subscriptions run over the graphql-ws WebSocket at ${path} (sub-protocol graphql-transport-ws), not over HTTP`,
    );
  }
}
