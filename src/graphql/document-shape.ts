import {
  Kind,
  type DocumentNode,
  type ExecutableDefinitionNode,
  type FragmentDefinitionNode,
  type FragmentSpreadNode,
  type SelectionSetNode,
} from 'graphql';

/** The meta fields whose subtrees are introspection; only the query root has them. */
const INTROSPECTION_FIELDS = new Set(['__schema', '__type']);

/** How big one definition is once its fragments are expanded. */
export interface Shape {
  /** The deepest path that does not go through an introspection field (`{ a { b } }`: 2). */
  depth: number;
  /** The deepest path through an introspection field (`__schema`, `__type`); 0 if none. */
  introspectionDepth: number;
  /** Fields, each fragment counted every time it is spread. At most MAX_COUNT. */
  fields: number;
  /** Aliases, counted like fields. At most MAX_COUNT. */
  aliases: number;
}

/**
 * Where counting stops. Fragments that spread each other twice per level double the count
 * at every level, so a small document can name more fields than a number holds exactly.
 */
export const MAX_COUNT = Number.MAX_SAFE_INTEGER;

/** Why a document's fragments cannot be expanded. */
export type FragmentFault =
  | { kind: 'unknown'; spread: FragmentSpreadNode }
  | { kind: 'cycle'; fragment: FragmentDefinitionNode; via: string[] };

export type DocumentShape =
  | { faults: FragmentFault[] }
  | { shapes: Array<{ definition: ExecutableDefinitionNode; shape: Shape }> };

const NOTHING: Shape = { depth: 0, introspectionDepth: 0, fields: 0, aliases: 0 };

function add(a: number, b: number): number {
  return Math.min(a + b, MAX_COUNT);
}

/**
 * Measures every operation and fragment of `document` with fragments expanded, in time
 * linear in the document's size: fragments are measured once each, those they spread
 * first, and a spread adds the measured fragment's figures instead of walking it again.
 * Unknown fragments and cycles are found first, without expanding anything; a document that
 * has any is returned with them and not measured.
 *
 * Recursion follows only the nesting of selection sets as written, which the parser has
 * already followed with deeper recursion of its own; it never follows a fragment spread.
 */
export function documentShape(document: DocumentNode): DocumentShape {
  const definitions = document.definitions.filter(
    (definition): definition is ExecutableDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION || definition.kind === Kind.FRAGMENT_DEFINITION,
  );
  // The last definition of a name is the one a spread means, as in graphql-js's own rules
  // (a repeated name is UniqueFragmentNames' error).
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION)
      fragments.set(definition.name.value, definition);
  }

  const faults: FragmentFault[] = [];
  const unknown = new Set<string>();
  const spreadNames = new Map<FragmentDefinitionNode, Set<string>>();
  for (const definition of definitions) {
    const names = new Set<string>();
    for (const spread of spreadsIn(definition.selectionSet, [])) {
      const name = spread.name.value;
      if (fragments.has(name)) names.add(name);
      else if (!unknown.has(name)) {
        unknown.add(name);
        faults.push({ kind: 'unknown', spread });
      }
    }
    if (definition.kind === Kind.FRAGMENT_DEFINITION) spreadNames.set(definition, names);
  }

  const order = dependencyOrder(fragments, spreadNames);
  if (order.length < fragments.size) faults.push(...cycles(fragments, spreadNames, order));
  if (faults.length > 0) return { faults };

  const measured = new Map<string, Shape>();
  for (const fragment of order)
    measured.set(fragment.name.value, measureDefinition(fragment, measured));
  return {
    shapes: definitions.map((definition) => ({
      definition,
      shape:
        definition.kind === Kind.FRAGMENT_DEFINITION &&
        fragments.get(definition.name.value) === definition
          ? (measured.get(definition.name.value) ?? NOTHING)
          : measureDefinition(definition, measured),
    })),
  };
}

/**
 * A fragment on an introspection type (`__Type`, `__Field`...) is introspection wherever it
 * is spread, as the fields it selects are.
 */
function measureDefinition(
  definition: ExecutableDefinitionNode,
  measured: Map<string, Shape>,
): Shape {
  const shape = measureSelectionSet(definition.selectionSet, measured);
  if (
    definition.kind !== Kind.FRAGMENT_DEFINITION ||
    !definition.typeCondition.name.value.startsWith('__')
  )
    return shape;
  return {
    ...shape,
    depth: 0,
    introspectionDepth: Math.max(shape.depth, shape.introspectionDepth),
  };
}

function spreadsIn(
  selectionSet: SelectionSetNode,
  found: FragmentSpreadNode[],
): FragmentSpreadNode[] {
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FRAGMENT_SPREAD) found.push(selection);
    else if (selection.selectionSet) spreadsIn(selection.selectionSet, found);
  }
  return found;
}

/**
 * The fragments, each after every fragment it spreads (Kahn's algorithm). Fragments in a
 * cycle, or spreading one, are left out.
 */
function dependencyOrder(
  fragments: Map<string, FragmentDefinitionNode>,
  spreadNames: Map<FragmentDefinitionNode, Set<string>>,
): FragmentDefinitionNode[] {
  const waitingOn = new Map<string, number>();
  const spreadBy = new Map<string, string[]>();
  const ready: string[] = [];
  for (const [name, fragment] of fragments) {
    const names = spreadNames.get(fragment) ?? new Set<string>();
    waitingOn.set(name, names.size);
    if (names.size === 0) ready.push(name);
    for (const spread of names) {
      const users = spreadBy.get(spread) ?? [];
      users.push(name);
      spreadBy.set(spread, users);
    }
  }
  const order: FragmentDefinitionNode[] = [];
  for (let next = ready.pop(); next !== undefined; next = ready.pop()) {
    order.push(fragments.get(next) as FragmentDefinitionNode);
    for (const user of spreadBy.get(next) ?? []) {
      const left = (waitingOn.get(user) ?? 0) - 1;
      waitingOn.set(user, left);
      if (left === 0) ready.push(user);
    }
  }
  return order;
}

/**
 * One fault per cycle among the fragments `dependencyOrder` left out. Every one of them
 * spreads at least one other that was left out, so following such spreads always comes back
 * to a fragment on the path; each fragment is followed once.
 */
function cycles(
  fragments: Map<string, FragmentDefinitionNode>,
  spreadNames: Map<FragmentDefinitionNode, Set<string>>,
  order: FragmentDefinitionNode[],
): FragmentFault[] {
  const ordered = new Set(order.map((fragment) => fragment.name.value));
  const followed = new Set<string>();
  const faults: FragmentFault[] = [];
  for (const start of fragments.keys()) {
    if (ordered.has(start) || followed.has(start)) continue;
    const path: string[] = [];
    let name: string | undefined = start;
    while (name !== undefined && !followed.has(name)) {
      followed.add(name);
      path.push(name);
      const spread = spreadNames.get(fragments.get(name) as FragmentDefinitionNode);
      name = [...(spread ?? [])].find((next) => !ordered.has(next));
    }
    const from = name === undefined ? -1 : path.indexOf(name);
    if (from < 0) continue; // came to a fragment followed from an earlier start
    const [first, ...via] = path.slice(from);
    faults.push({ kind: 'cycle', fragment: fragments.get(first) as FragmentDefinitionNode, via });
  }
  return faults;
}

function measureSelectionSet(selectionSet: SelectionSetNode, measured: Map<string, Shape>): Shape {
  let depth = 0;
  let introspectionDepth = 0;
  let fields = 0;
  let aliases = 0;
  for (const selection of selectionSet.selections) {
    let inner: Shape;
    if (selection.kind === Kind.FIELD) {
      fields = add(fields, 1);
      if (selection.alias) aliases = add(aliases, 1);
      if (!selection.selectionSet) {
        if (INTROSPECTION_FIELDS.has(selection.name.value))
          introspectionDepth = Math.max(introspectionDepth, 1);
        else depth = Math.max(depth, 1);
        continue;
      }
      const below = measureSelectionSet(selection.selectionSet, measured);
      inner = INTROSPECTION_FIELDS.has(selection.name.value)
        ? {
            ...below,
            depth: 0,
            introspectionDepth: Math.max(below.depth, below.introspectionDepth) + 1,
          }
        : {
            ...below,
            depth: below.depth + 1,
            introspectionDepth: below.introspectionDepth && below.introspectionDepth + 1,
          };
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      inner = measureSelectionSet(selection.selectionSet, measured);
    } else {
      // Every fragment spread here was measured before this one (dependency order).
      inner = measured.get(selection.name.value) ?? NOTHING;
    }
    depth = Math.max(depth, inner.depth);
    introspectionDepth = Math.max(introspectionDepth, inner.introspectionDepth);
    fields = add(fields, inner.fields);
    aliases = add(aliases, inner.aliases);
  }
  return { depth, introspectionDepth, fields, aliases };
}
