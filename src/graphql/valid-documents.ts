import {
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { DocumentCache } from './document-cache';

/**
 * Parsed and validated subscription documents by their text. Clients open many subscriptions
 * with the same few documents: each is parsed and validated once and one tree serves them
 * all, instead of a tree per subscription for its whole life.
 */
export class ValidDocuments {
  private readonly valid = new DocumentCache();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rules: ValidationRule[],
  ) {}

  check(query: string): { document: DocumentNode } | { errors: readonly GraphQLError[] } {
    const cached = this.valid.peek(query);
    if (cached) return { document: cached };
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      return {
        errors: [
          error instanceof GraphQLError ? error : new GraphQLError('query: cannot be parsed'),
        ],
      };
    }
    const errors = validate(this.schema, document, this.rules);
    if (errors.length > 0) return { errors };
    // Kept without source locations: they only serve error messages, and this one is valid.
    const kept = parse(query, { noLocation: true });
    this.valid.put(query, kept, query.length);
    return { document: kept };
  }
}
