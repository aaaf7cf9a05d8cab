import { AppError } from '../common/app-error';

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
