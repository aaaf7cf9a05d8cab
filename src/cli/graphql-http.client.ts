import { ServiceError, UnreachableError, type ServiceFault } from './cli.errors';

/** How long one request may take before the CLI gives up on the service. */
const REQUEST_TIMEOUT_MS = 30_000;

/** A GraphQL error as the service formats it. */
interface FormattedError {
  message?: unknown;
  extensions?: { code?: unknown; field?: unknown };
}

/** The faults of a list of GraphQL errors, as `error <code>: <message>` will print them. */
export function faultsOf(errors: readonly unknown[]): ServiceFault[] {
  return errors.map((error) => {
    const { message, extensions } = (error ?? {}) as FormattedError;
    return {
      code: typeof extensions?.code === 'string' ? extensions.code : 'UNKNOWN',
      message: typeof message === 'string' ? message : JSON.stringify(error),
      ...(typeof extensions?.field === 'string' ? { field: extensions.field } : {}),
    };
  });
}

/** Why a fetch failed, in words: the system's code (ECONNREFUSED) where there is one. */
function failureReason(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') {
    return `no answer within ${REQUEST_TIMEOUT_MS / 1000} s`;
  }
  // fetch's own message is "fetch failed"; the cause says why.
  const cause =
    error instanceof Error ? (error.cause as { code?: unknown; message?: unknown }) : null;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return error instanceof Error ? error.message : String(error);
}

/** GraphQL over HTTP (POST, JSON) to one endpoint, with the caller's token. */
export class GraphqlHttpClient {
  constructor(
    private readonly endpoint: string,
    private readonly token: string | null,
  ) {}

  /** The data of one operation; throws ServiceError for any GraphQL error. */
  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.token !== null) headers.authorization = `Bearer ${this.token}`;
    let status: number;
    let text: string;
    try {
      const response = await fetch(this.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, variables }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      throw new UnreachableError(this.endpoint, failureReason(error));
    }
    let body: { data?: unknown; errors?: unknown };
    try {
      body = JSON.parse(text) as { data?: unknown; errors?: unknown };
    } catch {
      throw new ServiceError([
        {
          code: `HTTP_${status}`,
          message: `${this.endpoint} did not answer with JSON: is it the service's address?`,
        },
      ]);
    }
    if (Array.isArray(body.errors) && body.errors.length > 0) {
      throw new ServiceError(faultsOf(body.errors));
    }
    if (body.data === null || typeof body.data !== 'object') {
      throw new ServiceError([
        {
          code: `HTTP_${status}`,
          message: `${this.endpoint} answered without GraphQL data: is it the service's address?`,
        },
      ]);
    }
    return body.data as T;
  }
}
