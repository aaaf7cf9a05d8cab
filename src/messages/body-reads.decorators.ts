import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { responsePathAsArray, type GraphQLResolveInfo } from 'graphql';
import { BodyBudget, MAX_OPERATION_BODY_BYTES, type BodyReads } from './body-reads';
import { BodyReadsExhaustedError } from './message.errors';

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
