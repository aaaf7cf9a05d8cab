import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext, type GqlContextType } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { RedisCircuitBreaker } from './redis-circuit-breaker';
import { RedisUnavailableError } from './redis.errors';

/** Sends keep working during an outage (they queue locally); everything else fails fast. */
const QUEUEABLE = new Set(['sendMessage', 'sendMessages']);
const ROOT_TYPES = new Set(['Query', 'Mutation', 'Subscription']);

/**
 * While the Redis circuit is open, GraphQL operations other than sends fail at once with
 * SERVICE_UNAVAILABLE instead of waiting on timeouts. (A Redis failure during an operation
 * becomes SERVICE_UNAVAILABLE in the error filter: see toGraphqlError.) A guard rather than
 * an interceptor: it costs a property read per operation, not an Observable chain.
 */
@Injectable()
export class RedisAvailabilityGuard implements CanActivate {
  constructor(private readonly breaker: RedisCircuitBreaker) {}

  canActivate(context: ExecutionContext): boolean {
    if (this.breaker.closed || context.getType<GqlContextType>() !== 'graphql') return true;
    const info = GqlExecutionContext.create(context).getInfo<GraphQLResolveInfo>();
    if (ROOT_TYPES.has(info.parentType.name) && !QUEUEABLE.has(info.fieldName))
      throw new RedisUnavailableError();
    return true;
  }
}
