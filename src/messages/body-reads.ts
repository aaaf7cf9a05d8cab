import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { responsePathAsArray, type GraphQLResolveInfo } from 'graphql';
import { AppError } from '../common/app-error';

/**
 * Bytes of message bodies one GraphQL operation may read from Redis, past its first body: as
 * many as its response may carry (MAX_RESPONSE_CONTENT_CHARS, response-budget.ts). Without
 * it, 30 aliases of `messages(first: 500)` read every body they name before any is counted,
 * gigabytes at once, which holds Redis for every other client.
 */
export const MAX_OPERATION_BODY_BYTES = 64 * 1024 * 1024;

/**
 * The bytes of bodies one reader may still load: shared by every read of one GraphQL
 * operation, or of one MCP answer. The first body is always taken, so that a message larger
 * than the budget can still be read on its own.
 */
export class BodyBudget {
  private spent = 0;
  private started = false;

  constructor(readonly limit: number) {}

  /** How many of the bodies of `sizes` (bytes, in reading order), from the first, fit. */
  take(sizes: readonly number[]): number {
    let taken = 0;
    for (const size of sizes) {
      if (this.started && this.spent + size > this.limit) break;
      // A message that is gone has no body (size 0): it is no first body.
      this.started ||= size > 0;
      this.spent += size;
      taken += 1;
    }
    return taken;
  }
}

/** One read's view of its budget: what it may take, and its refusal when it may take none. */
export interface BodyReads {
  /** As BodyBudget.take. */
  take(sizes: readonly number[]): number;
  /** The error for a read that found bodies and could take none of them. */
  refusal(): AppError;
}

export class BodyReadsExhaustedError extends AppError {
  constructor(field: string, limit: number) {
    super(
      'PAYLOAD_TOO_LARGE',
      `${field}: the message bodies this operation reads exceed the limit of ${limit} bytes; ask for fewer messages (first) or in fewer fields`,
      { field, limit },
    );
  }
}

/** A budget with no other reader: its first body is always taken. */
export function ownBodyReads(limit: number): BodyReads {
  const budget = new BodyBudget(limit);
  return {
    take: (sizes) => budget.take(sizes),
    refusal: () => new BodyReadsExhaustedError('messages', limit),
  };
}

/** The per-operation budget, kept on the operation's context object. */
interface WithBodyBudget {
  bodyBudget?: BodyBudget;
}

/** The reads of a resolver, on its operation's budget; refusals name its response path. */
export function operationBodyReads(context: WithBodyBudget, info: GraphQLResolveInfo): BodyReads {
  const budget = (context.bodyBudget ??= new BodyBudget(MAX_OPERATION_BODY_BYTES));
  return {
    take: (sizes) => budget.take(sizes),
    refusal: () =>
      new BodyReadsExhaustedError(responsePathAsArray(info.path).join('.'), budget.limit),
  };
}

/** The resolver's BodyReads (operationBodyReads). */
export const OperationBodyReads = createParamDecorator(
  (_data: unknown, context: ExecutionContext): BodyReads => {
    const graphql = GqlExecutionContext.create(context);
    return operationBodyReads(
      graphql.getContext<WithBodyBudget>(),
      graphql.getInfo<GraphQLResolveInfo>(),
    );
  },
);
