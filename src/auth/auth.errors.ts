import { AppError } from '../common/app-error';
import { REFUSED_RETRY_AFTER_SECONDS } from '../redis/redis.errors';

export class RateLimitedError extends AppError {
  constructor(limitPerMinute: number, retryAfterMs: number) {
    const seconds = Math.ceil(retryAfterMs / 1000);
    super(
      'RATE_LIMITED',
      `rate limit: more than ${limitPerMinute} operations per minute for this token; retry after ${seconds} s`,
      { limit: limitPerMinute, retryAfterSeconds: seconds },
    );
  }
}

/** Redis refuses the rate-limit bucket for a reason other than capacity (see AuthService.charge). */
export class RateLimitUnavailableError extends AppError {
  constructor(reply: string) {
    super(
      'SERVICE_UNAVAILABLE',
      `the rate limit cannot be checked (${reply}); retry after ${REFUSED_RETRY_AFTER_SECONDS} s`,
      { retryAfterSeconds: REFUSED_RETRY_AFTER_SECONDS },
    );
  }
}
