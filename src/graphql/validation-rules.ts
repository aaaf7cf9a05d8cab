import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type ASTVisitor,
  type DocumentNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { documentShape, MAX_COUNT, type FragmentFault } from './document-shape';
import { toGraphqlError } from './graphql-error';
import { DocumentLimitError } from './graphql-transport.errors';

/** Limits on the shape of one GraphQL document. */
export interface DocumentLimits {
  maxDepth: number;
  maxAliases: number;
  /** Fields after fragments are expanded: a cost bound that needs no schema annotations. */
  maxFields: number;
  /**
   * How deep introspection (`__schema`, `__type`) may go regardless of `maxDepth`, so that
   * IDEs and code generators can read the schema. Deeper introspection gets no allowance and
   * is held to `maxDepth` like any other field, so `ofType` nested hundreds deep is refused.
   * 0: none.
   */
  maxIntrospectionDepth: number;
}

/**
 * The depth of graphql-js's standard introspection query (`getIntrospectionQuery()`, its
 * TypeRef nine `ofType` deep), which GraphiQL and the code generators send.
 */
const STANDARD_INTROSPECTION_DEPTH = 15;

export const DEFAULT_DOCUMENT_LIMITS: DocumentLimits = {
  maxDepth: 12,
  maxAliases: 30,
  maxFields: 500,
  maxIntrospectionDepth: STANDARD_INTROSPECTION_DEPTH,
};

/**
 * What the rest of the validation walks once a document is refused: nothing. graphql-js
 * runs every rule in one walk of the document and both transports put graphql-js's own rules before ours, so
 * replacing the document (a visitor's documented way to edit the tree) is how a refusal keeps
 * rules such as OverlappingFieldsCanBeMerged, quadratic in a selection's fields, from
 * walking a document far over the limits. The rules' `Document` handlers that ran before
 * this one only count definitions.
 */
const NOTHING_TO_WALK: DocumentNode = Object.freeze({ kind: Kind.DOCUMENT, definitions: [] });

/**
 * Worded as graphql-js's KnownFragmentNames and NoFragmentCycles word it: this refusal stands
 * in for theirs, which do not run on a refused document.
 */
function faultError(fault: FragmentFault): GraphQLError {
  if (fault.kind === 'unknown') {
    return new GraphQLError(`Unknown fragment "${fault.spread.name.value}".`, {
      nodes: fault.spread.name,
    });
  }
  const via = fault.via.length > 0 ? ` via ${fault.via.map((name) => `"${name}"`).join(', ')}` : '';
  return new GraphQLError(
    `Cannot spread fragment "${fault.fragment.name.value}" within itself${via}.`,
    { nodes: fault.fragment.name },
  );
}

/** The refusals for `document`; none when it is within every limit. */
function refusals(document: DocumentNode, limits: DocumentLimits): GraphQLError[] {
  const shape = documentShape(document);
  if ('faults' in shape) return shape.faults.map(faultError);
  let depth = 0;
  let aliases = 0;
  let fields = 0;
  // Every definition, used or not: the other rules walk fragments that no operation spreads.
  for (const { shape: one } of shape.shapes) {
    const introspectionAllowed =
      one.introspectionDepth <= limits.maxIntrospectionDepth && limits.maxIntrospectionDepth > 0;
    depth = Math.max(
      depth,
      introspectionAllowed ? one.depth : Math.max(one.depth, one.introspectionDepth),
    );
    aliases = Math.max(aliases, one.aliases);
    fields = Math.max(fields, one.fields);
  }
  const found: DocumentLimitError[] = [];
  if (depth > limits.maxDepth)
    found.push(DocumentLimitError.over('the selection depth', depth, limits.maxDepth));
  if (aliases > limits.maxAliases) {
    found.push(
      DocumentLimitError.over(
        'the number of aliases',
        aliases,
        limits.maxAliases,
        aliases === MAX_COUNT,
      ),
    );
  }
  if (fields > limits.maxFields) {
    found.push(
      DocumentLimitError.over(
        'the number of fields',
        fields,
        limits.maxFields,
        fields === MAX_COUNT,
      ),
    );
  }
  return found.map((error) => toGraphqlError(error, 'document limits'));
}

/**
 * Refuses documents deeper, wider or more aliased than the limits, and documents whose
 * fragments are unknown or spread each other in a cycle, before anything else walks them.
 * Its cost is linear in the document's size (see `documentShape`), whatever its fragments
 * expand to.
 */
export function documentLimitsRule(
  limits: DocumentLimits = DEFAULT_DOCUMENT_LIMITS,
): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    Document(document) {
      const found = refusals(document, limits);
      if (found.length === 0) return false;
      for (const error of found) context.reportError(error);
      return NOTHING_TO_WALK;
    },
  });
}

/** The rules beyond GraphQL's own, for HTTP and WebSocket alike; introspection off in production. */
export function graphqlValidationRules(production: boolean): ValidationRule[] {
  // The introspection allowance stays in production, where NoSchemaIntrospectionCustomRule
  // refuses introspection with a message that says so rather than with its depth.
  return production
    ? [documentLimitsRule(), NoSchemaIntrospectionCustomRule]
    : [documentLimitsRule()];
}
