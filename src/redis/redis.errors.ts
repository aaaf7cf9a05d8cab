import { AppError } from '../common/app-error';

/** Redis cannot be reached (circuit open): the operation fails fast instead of waiting. */
export class RedisUnavailableError extends AppError {
  constructor(what = 'Redis is unavailable') {
    super(
      'SERVICE_UNAVAILABLE',
      `${what}; retry in a moment (sends are still accepted and queued)`,
    );
  }
}

const REDIS_FAILURE =
  /Connection is closed|Command timed out|MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|Stream isn't writeable|LOADING|READONLY|CLUSTERDOWN/;

/** A client error that says Redis did not answer, as SERVICE_UNAVAILABLE; null otherwise. */
export function redisFailure(error: unknown): RedisUnavailableError | null {
  if (error instanceof AppError || !(error instanceof Error) || !REDIS_FAILURE.test(error.message))
    return null;
  return new RedisUnavailableError(`Redis did not answer (${error.message})`);
}
