import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/** Limits on the shape of one GraphQL document. */
export interface DocumentLimits {
  maxDepth: number;
  maxAliases: number;
  /** Fields after fragments are expanded: a cost bound that needs no schema annotations. */
  maxFields: number;
}

export const DEFAULT_DOCUMENT_LIMITS: DocumentLimits = {
  maxDepth: 12,
  maxAliases: 30,
  maxFields: 500,
};

function refuse(
  context: ValidationContext,
  what: string,
  found: number,
  limit: number,
  partial: boolean,
): void {
  context.reportError(
    new GraphQLError(
      `query: ${what} is ${partial ? 'at least ' : ''}${found}; the limit is ${limit}`,
      {
        extensions: { code: 'BAD_USER_INPUT', field: 'query', limit },
      },
    ),
  );
}

interface Shape {
  depth: number;
  fields: number;
  aliases: number;
  /** Counting stopped early: the figures are lower bounds. */
  partial?: boolean;
}

/**
 * Measures a selection set with fragments expanded. Fragment cycles are a separate
 * validation error (NoFragmentCycles); a visited set keeps this one from looping on them.
 */
function measure(
  selectionSet: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  visiting: Set<string>,
  stopAt: number,
): Shape {
  const shape: Shape = { depth: 0, fields: 0, aliases: 0 };
  for (const selection of selectionSet.selections) {
    let inner: Shape;
    if (selection.kind === Kind.FIELD) {
      shape.fields += 1;
      if (selection.alias) shape.aliases += 1;
      inner = selection.selectionSet
        ? measure(selection.selectionSet, fragments, visiting, stopAt)
        : { depth: 0, fields: 0, aliases: 0 };
      inner.depth += 1;
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      inner = measure(selection.selectionSet, fragments, visiting, stopAt);
    } else {
      const fragment = fragments.get(selection.name.value);
      if (!fragment || visiting.has(fragment.name.value)) continue;
      visiting.add(fragment.name.value);
      inner = measure(fragment.selectionSet, fragments, visiting, stopAt);
      visiting.delete(fragment.name.value);
    }
    shape.depth = Math.max(shape.depth, inner.depth);
    shape.fields += inner.fields;
    shape.aliases += inner.aliases;
    if (inner.partial) shape.partial = true;
    // Past every limit already: stop counting (fragments can make a document exponential).
    if (shape.fields > stopAt) {
      shape.partial = true;
      break;
    }
  }
  return shape;
}

/** Refuses documents deeper, wider or more aliased than the limits, before execution. */
export function documentLimitsRule(
  limits: DocumentLimits = DEFAULT_DOCUMENT_LIMITS,
): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map(
      context
        .getDocument()
        .definitions.filter(
          (definition): definition is FragmentDefinitionNode =>
            definition.kind === Kind.FRAGMENT_DEFINITION,
        )
        .map((fragment) => [fragment.name.value, fragment]),
    );
    return {
      OperationDefinition(operation) {
        const shape = measure(operation.selectionSet, fragments, new Set(), limits.maxFields * 2);
        const partial = shape.partial === true;
        if (shape.depth > limits.maxDepth)
          refuse(context, 'the selection depth', shape.depth, limits.maxDepth, partial);
        if (shape.aliases > limits.maxAliases) {
          refuse(context, 'the number of aliases', shape.aliases, limits.maxAliases, partial);
        }
        if (shape.fields > limits.maxFields)
          refuse(context, 'the number of fields', shape.fields, limits.maxFields, partial);
        return false;
      },
    };
  };
}

/** The rules beyond GraphQL's own, for HTTP and WebSocket alike; introspection off in production. */
export function graphqlValidationRules(production: boolean): ValidationRule[] {
  return production
    ? [documentLimitsRule(), NoSchemaIntrospectionCustomRule]
    : [documentLimitsRule()];
}
