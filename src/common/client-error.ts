import type { LoggerService } from '@nestjs/common';
import { redisFailure } from '../redis/redis.errors';
import { AppError } from './app-error';

/** A failure the service did not expect: a bug, told as no more than that. */
export class InternalError extends AppError {
  constructor() {
    super('INTERNAL_SERVER_ERROR', 'internal server error');
  }
}

/**
 * Anything an operation threw, as a client may see it: an AppError as it is; a Redis failure
 * as redisFailure says (SERVICE_UNAVAILABLE or STORE_FULL, with `retryAfterSeconds`);
 * anything else is a bug, logged with its stack under `msg` (with `context`'s fields beside
 * it) and told as INTERNAL_SERVER_ERROR. A bug is never told as Redis' silence: trying again
 * would meet it again.
 */
export function asClientError(
  thrown: unknown,
  logger: LoggerService,
  msg: string,
  context: Record<string, unknown> = {},
): AppError {
  if (thrown instanceof AppError) return thrown;
  const failure = redisFailure(thrown);
  if (failure !== null) return failure;
  logger.error({ ...context, err: thrown, msg });
  return new InternalError();
}
