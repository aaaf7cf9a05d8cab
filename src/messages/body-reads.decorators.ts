import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { Kind, responsePathAsArray, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { BodyBudget, MAX_OPERATION_BODY_BYTES, type BodyReads } from './body-reads';
import { BodyReadsExhaustedError } from './message.errors';

/** The per-operation budget, kept on the operation's context object. */
interface WithBodyBudget {
  bodyBudget?: BodyBudget;
}

/**
 * The Message fields whose values come from its body (content): the rest need none of it. A
 * field computed from the body must be named here; one that is not fails loudly on a page read
 * without bodies (bodyOf in message.model.ts), rather than answering from an empty body.
 */
const BODY_FIELDS = new Set(['content', 'tokenEstimate']);

/**
 * Whether the resolver's field selects, anywhere below it, a field named in BODY_FIELDS,
 * fragments included. Directives are not looked at: a `content @skip(if: true)` counts as
 * selected, which costs a read and never a missing body.
 */
export function selectsBody(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): boolean {
  const spread = new Set<string>();
  const visit = (set: SelectionSetNode | undefined): boolean =>
    set !== undefined &&
    set.selections.some((selection) => {
      if (selection.kind === Kind.FIELD) {
        return BODY_FIELDS.has(selection.name.value) || visit(selection.selectionSet);
      }
      if (selection.kind === Kind.INLINE_FRAGMENT) return visit(selection.selectionSet);
      const name = selection.name.value;
      if (spread.has(name)) return false;
      spread.add(name);
      return visit(info.fragments[name]?.selectionSet);
    });
  return info.fieldNodes.some((node) => visit(node.selectionSet));
}

/**
 * The reads of a resolver, on its operation's budget; refusals name its response path. For a
 * page of messages (`page`) whose selection names no field of the body (selectsBody), the
 * reads take no content at all (BodyReads.contentBytes 0), and count none.
 */
export function operationBodyReads(
  context: WithBodyBudget,
  info: GraphQLResolveInfo,
  page = false,
): BodyReads {
  const budget = (context.bodyBudget ??= new BodyBudget(MAX_OPERATION_BODY_BYTES));
  return {
    take: (sizes) => budget.take(sizes),
    refusal: () =>
      new BodyReadsExhaustedError(responsePathAsArray(info.path).join('.'), budget.limit),
    contentBytes: page && !selectsBody(info) ? 0 : undefined,
  };
}

/**
 * The resolver's BodyReads (operationBodyReads). `'page'` for a field that answers a page of
 * messages and nothing computed from their bodies: its reads then skip the content when the
 * selection names none.
 */
export const OperationBodyReads = createParamDecorator(
  (data: 'page' | undefined, context: ExecutionContext): BodyReads => {
    const graphql = GqlExecutionContext.create(context);
    return operationBodyReads(
      graphql.getContext<WithBodyBudget>(),
      graphql.getInfo<GraphQLResolveInfo>(),
      data === 'page',
    );
  },
);
