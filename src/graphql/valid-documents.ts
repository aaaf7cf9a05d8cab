import {
  getOperationAST,
  GraphQLError,
  specifiedRules,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import { DocumentCache } from './document-cache';
import { DEFAULT_MAX_DOCUMENT_TOKENS, parseDocument } from './document-parsing';
import { documentOverLimit, documentTooLargeMessage } from './document-size';
import { documentRefusal, operationNotFound } from './operation-errors';
import { graphqlValidationRules } from './validation-rules';

/** The operation a client asked for, checked, or what it is answered instead. */
export type CheckedOperation =
  | { document: DocumentNode; operation: OperationDefinitionNode }
  | { errors: readonly GraphQLError[] };

export interface DocumentOptions {
  /** GRAPHQL_MAX_TOKENS: the parser reads no more. */
  maxTokens?: number;
  /** GRAPHQL_MAX_DOCUMENT_BYTES: a longer text is refused before it is hashed or parsed. */
  maxBytes?: number;
  /** Production: validation messages do not suggest schema fields the client did not ask for. */
  hideSuggestions?: boolean;
}

/**
 * Parsed and validated documents by their text, the one way every operation comes in over
 * HTTP and over WebSocket. Clients send the same few documents again and again: each is
 * parsed and validated once and one tree serves every request and subscription with it.
 *
 * The parser reads at most `maxTokens` tokens, and the rules are expected to include
 * `documentLimitsRule`, which refuses a document over the limits before graphql-js's own
 * rules walk it.
 */
export class ValidDocuments {
  private readonly valid = new DocumentCache();
  private readonly maxTokens: number;
  private readonly maxBytes: number;
  private readonly hideSuggestions: boolean;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rules: ValidationRule[],
    options: DocumentOptions = {},
  ) {
    this.maxTokens = options.maxTokens ?? DEFAULT_MAX_DOCUMENT_TOKENS;
    this.maxBytes = options.maxBytes ?? Infinity;
    this.hideSuggestions = options.hideSuggestions ?? false;
  }

  /** graphql-js's rules, then the service's, with the service's limits. */
  static forService(schema: GraphQLSchema, production: boolean, options: DocumentOptions) {
    const rules = [...specifiedRules, ...graphqlValidationRules(production)];
    return new ValidDocuments(schema, rules, { ...options, hideSuggestions: production });
  }

  /**
   * The operation `operationName` names in `query` (or its only one), with a valid document;
   * a refusal carries the code a client reads whichever transport it used.
   */
  operation(query: string, operationName: string | null | undefined): CheckedOperation {
    const checked = this.check(query);
    if (!('document' in checked)) {
      return {
        errors: checked.errors.map((error) => documentRefusal(error, this.hideSuggestions)),
      };
    }
    const operation = getOperationAST(checked.document, operationName);
    if (!operation) return { errors: [operationNotFound(operationName)] };
    return { document: checked.document, operation };
  }

  check(query: string): { document: DocumentNode } | { errors: readonly GraphQLError[] } {
    // Before the cache: looking a text up hashes all of it.
    const over = documentOverLimit(query, this.maxBytes);
    if (over !== null) {
      const limit = this.maxBytes;
      const extensions = { code: 'BAD_USER_INPUT', field: 'query', limit };
      return { errors: [new GraphQLError(documentTooLargeMessage(over, limit), { extensions })] };
    }
    const cached = this.valid.peek(query);
    if (cached) return { document: cached };
    const parsed = parseDocument(query, this.maxTokens);
    if ('error' in parsed) return { errors: [parsed.error] };
    const errors = validate(this.schema, parsed.document, this.rules);
    if (errors.length > 0) return { errors };
    // Kept with its source locations, which the errors of its executions report (a document
    // too large for the cache is not kept).
    this.valid.put(query, parsed.document, query.length);
    return { document: parsed.document };
  }
}
