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
