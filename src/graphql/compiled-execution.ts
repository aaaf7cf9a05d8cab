import {
  BREAK,
  execute,
  Kind,
  OperationTypeNode,
  getNamedType,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLScalarType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import { MemoSlot } from '../common/memo-slot';
import { JsonScalar } from './json.scalar';
import type { Execute } from './shared-execution';

/** A document's compiled operations by operation name ('' for none given). */
interface Compiled {
  schema: GraphQLSchema;
  byOperation: Map<string, CompiledQuery | null>;
  /** When the document was last used, on this instance's clock. */
  used: number;
}

/** Documents kept compiled at once, least recently used out first. */
export const MAX_COMPILED_DOCUMENTS = 256;
/** A document is compiled on this use, so one sent once never costs a compilation. */
export const USES_BEFORE_COMPILING = 2;

/**
 * graphql-js's `execute` for the documents clients send again and again, run as the
 * JavaScript graphql-jit compiles from each (one function per operation, with its variables'
 * coercion and its fields' resolution written out), instead of graphql-js walking the tree for
 * every request: the same resolvers, with the same arguments, context and info, give the same
 * data and errors.
 *
 * - Only documents used at least USES_BEFORE_COMPILING times are compiled, and at most
 *   MAX_COMPILED_DOCUMENTS at once (least recently used out first), so a client that sends
 *   ever new documents costs no compilation and no code held for them. Both transports hand
 *   it the one tree they keep per distinct text (ValidDocuments), which is what makes a
 *   document the same object from request to request.
 * - Variables that do not coerce are answered by graphql-js's own `execute`, which runs no
 *   resolver either: its messages name the path inside the variable ("at in.content"), and
 *   the service's error codes and clients rely on them.
 * - A document that selects a scalar listed in `interpreted` runs on graphql-js: graphql-jit
 *   keeps only the message of an error a scalar's `serialize` throws, and the JSON scalar's
 *   refusal of a stored value it cannot return carries its code and limit in extensions.
 * - A mutation of more than one root field runs on graphql-js: graphql-js stops at the first
 *   that fails (a send refused), graphql-jit runs the rest anyway, so whether a later send
 *   went out would hang on whether the document was compiled yet.
 * - An operation graphql-jit cannot compile, and an execution with resolvers of its own
 *   (`fieldResolver`, `typeResolver`), run on graphql-js.
 */
export class CompiledExecution {
  /**
   * The documents held compiled. A use stamps its entry rather than moving it to the end:
   * moving it (a delete and a set) for every execution gave the map a new table every few
   * uses, and those tables outlived young-generation collections. The least recently used is
   * looked for only when one has to go, on a compilation past the cap.
   */
  private readonly recent = new Map<DocumentNode, Compiled>();
  private clock = 0;
  // Kept on each document, by this instance: a document's uses and compiled operations.
  private readonly uses = new MemoSlot<number>('uses before compiling');
  private readonly compiledSlot = new MemoSlot<Compiled | null>('compiled operations');
  private readonly interpreted: ReadonlySet<string>;
  private readonly maxDocuments: number;

  constructor(options: { interpreted?: readonly GraphQLScalarType[]; maxDocuments?: number } = {}) {
    this.interpreted = new Set((options.interpreted ?? []).map((scalar) => scalar.name));
    this.maxDocuments = options.maxDocuments ?? MAX_COMPILED_DOCUMENTS;
  }

  readonly execute: Execute = (args) => {
    const compiled = this.compiled(args);
    if (!compiled) return execute(args);
    const result = compiled.query(args.rootValue, args.contextValue, args.variableValues);
    return isPromise(result)
      ? result.then((done) => this.checked(args, done))
      : this.checked(args, result);
  };

  /** As both transports run it: the JSON scalar's refusals keep their code and limit. */
  static forService(): CompiledExecution {
    return new CompiledExecution({ interpreted: [JsonScalar] });
  }

  /** How many documents are held compiled. */
  get size(): number {
    return this.recent.size;
  }

  /** graphql-js's answer instead of an operation that did not run (variables refused). */
  private checked(args: ExecutionArgs, result: ExecutionResult): ReturnType<Execute> {
    return result.errors && !('data' in result) ? execute(args) : result;
  }

  private compiled(args: ExecutionArgs): CompiledQuery | null {
    if (args.fieldResolver || args.typeResolver) return null;
    const { document, schema } = args;
    let entry = this.compiledSlot.get(document);
    if (!entry || entry.schema !== schema) {
      const count = (this.uses.get(document) ?? 0) + 1;
      this.uses.set(document, count);
      if (count < USES_BEFORE_COMPILING) return null;
      entry = { schema, byOperation: new Map(), used: ++this.clock };
      this.compiledSlot.set(document, entry);
      this.admit(document, entry);
    } else {
      entry.used = ++this.clock;
    }
    const name = args.operationName ?? '';
    let query = entry.byOperation.get(name);
    if (query === undefined) {
      query = this.compile(schema, document, args.operationName ?? undefined);
      entry.byOperation.set(name, query);
    }
    return query;
  }

  private compile(
    schema: GraphQLSchema,
    document: DocumentNode,
    operationName: string | undefined,
  ): CompiledQuery | null {
    if (this.selectsInterpreted(schema, document)) return null;
    if (mutatesInSeries(document, operationName)) return null;
    const made = compileQuery(schema, document, operationName);
    return isCompiledQuery(made) ? made : null;
  }

  /** Whether any field of the document, its fragments included, is of an interpreted scalar. */
  private selectsInterpreted(schema: GraphQLSchema, document: DocumentNode): boolean {
    if (this.interpreted.size === 0) return false;
    const types = new TypeInfo(schema);
    let found = false;
    visit(
      document,
      visitWithTypeInfo(types, {
        Field: () => {
          const type = types.getType();
          if (!type || !this.interpreted.has(getNamedType(type).name)) return undefined;
          found = true;
          return BREAK;
        },
      }),
    );
    return found;
  }

  /** Holds a newly compiled document, and lets the least recently used go past the cap. */
  private admit(document: DocumentNode, entry: Compiled): void {
    this.recent.set(document, entry);
    if (this.recent.size <= this.maxDocuments) return;
    let oldest: DocumentNode | null = null;
    let oldestUse = Infinity;
    for (const [held, { used }] of this.recent) {
      if (used >= oldestUse) continue;
      oldest = held;
      oldestUse = used;
    }
    if (oldest === null) return;
    this.recent.delete(oldest);
    this.compiledSlot.set(oldest, null);
    this.uses.set(oldest, 0);
  }
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>).then === 'function';
}

/**
 * Whether the operation is a mutation of more than one root field (or of a fragment, which
 * may hold several): graphql-js runs such fields in turn and stops at the first that fails.
 */
function mutatesInSeries(document: DocumentNode, operationName: string | undefined): boolean {
  const operation = document.definitions.find(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION &&
      (operationName === undefined || definition.name?.value === operationName),
  );
  if (operation?.operation !== OperationTypeNode.MUTATION) return false;
  const [first, ...rest] = operation.selectionSet.selections;
  return rest.length > 0 || first?.kind !== Kind.FIELD;
}
