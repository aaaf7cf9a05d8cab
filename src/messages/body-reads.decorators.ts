import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { GqlExecutionContext } from '@nestjs/graphql';
import { Kind, responsePathAsArray, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import { PREVIEW_BYTES } from '../agent-view/agent-message';
import { BodyBudget, MAX_OPERATION_BODY_BYTES, type BodyReads } from './body-reads';
import { BodyReadsExhaustedError } from './message.errors';

/** The per-operation budget, kept on the operation's context object. */
interface WithBodyBudget {
  bodyBudget?: BodyBudget;
}

/** What a page's selection needs of each message's body. */
export type BodyNeed = 'whole' | 'preview' | 'none';

/**
 * The Message fields whose values come from its body (content), and what each needs of it: the
 * rest need none of it. A field computed from the body must be named here; one that is not
 * fails loudly on a page read without bodies (bodyOf and previewOf in message.model.ts),
 * rather than answering from an empty body.
 */
const BODY_FIELDS = new Map<string, BodyNeed>([
  ['content', 'whole'],
  ['tokenEstimate', 'whole'],
  ['preview', 'preview'],
  ['previewTruncated', 'preview'],
]);

/**
 * What the resolver's field needs of the bodies, from the fields of BODY_FIELDS it selects
 * anywhere below it, fragments included: the whole body when any needs it. Directives are not
 * looked at: a `content @skip(if: true)` counts as selected, which costs a read and never a
 * missing body.
 */
export function bodyNeed(info: Pick<GraphQLResolveInfo, 'fieldNodes' | 'fragments'>): BodyNeed {
  const spread = new Set<string>();
  let need: BodyNeed = 'none';
  const visit = (set: SelectionSetNode | undefined): void => {
    for (const selection of set?.selections ?? []) {
      if (need === 'whole') return;
      if (selection.kind === Kind.FIELD) {
        const field = BODY_FIELDS.get(selection.name.value);
        if (field === 'whole' || (field === 'preview' && need === 'none')) need = field;
        visit(selection.selectionSet);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        visit(selection.selectionSet);
      } else if (!spread.has(selection.name.value)) {
        spread.add(selection.name.value);
        visit(info.fragments[selection.name.value]?.selectionSet);
      }
    }
  };
  for (const node of info.fieldNodes) visit(node.selectionSet);
  return need;
}

/** What a page's reads take of each content, for what its selection needs (BodyReads.contentBytes). */
const CONTENT_BYTES: Record<BodyNeed, number | undefined> = {
  whole: undefined,
  preview: PREVIEW_BYTES,
  none: 0,
};

/**
 * The reads of a resolver, on its operation's budget; refusals name its response path. For a
 * page of messages (`page`), the reads take of each content what the selection needs
 * (bodyNeed): all of it, its first PREVIEW_BYTES, or none (then not counted either).
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
    contentBytes: page ? CONTENT_BYTES[bodyNeed(info)] : undefined,
  };
}

/**
 * The resolver's BodyReads (operationBodyReads). `'page'` for a field that answers a page of
 * messages and nothing computed from their bodies: its reads then take of each content only
 * what the selection needs.
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
