import {
  Injectable,
  type CallHandler,
  type ExecutionContext,
  type NestInterceptor,
} from '@nestjs/common';
import { GqlExecutionContext, type GqlContextType } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { catchError, type Observable } from 'rxjs';
import { AppError } from '../common/app-error';
import { RedisCircuitBreaker } from './redis-circuit-breaker';
import { RedisUnavailableError } from './redis.errors';

/** Sends keep working during an outage (they queue locally); everything else fails fast. */
const QUEUEABLE = new Set(['sendMessage', 'sendMessages']);
const REDIS_FAILURE =
  /Connection is closed|Command timed out|MaxRetriesPerRequest|ECONNREFUSED|ECONNRESET|Stream isn't writeable|LOADING|READONLY|CLUSTERDOWN/;

/**
 * While the Redis circuit is open, GraphQL operations other than sends fail at once with
 * SERVICE_UNAVAILABLE instead of waiting on timeouts; a Redis failure during an operation
 * reaches the client as SERVICE_UNAVAILABLE rather than as an internal error.
 */
@Injectable()
export class RedisAvailabilityInterceptor implements NestInterceptor {
  constructor(private readonly breaker: RedisCircuitBreaker) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType<GqlContextType>() !== 'graphql') return next.handle();
    const info = GqlExecutionContext.create(context).getInfo<GraphQLResolveInfo>();
    if (!this.breaker.closed && !QUEUEABLE.has(info.fieldName)) throw new RedisUnavailableError();
    return next.handle().pipe(
      catchError((error: unknown) => {
        if (
          !(error instanceof AppError) &&
          error instanceof Error &&
          REDIS_FAILURE.test(error.message)
        ) {
          throw new RedisUnavailableError(`Redis did not answer (${error.message})`);
        }
        throw error;
      }),
    );
  }
}
