import {
  GraphQLError,
  Kind,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { DOCUMENT_CACHE_BYTES, DocumentCache, documentHeapBytes } from './document-cache';
import { DEFAULT_MAX_DOCUMENT_TOKENS, parseDocument } from './document-parsing';
import { documentOverLimit, documentTooLargeMessage } from './document-size';

/** Stands for any document parsed without locations, to estimate the heap one would take. */
const WITHOUT_LOCATIONS: DocumentNode = { kind: Kind.DOCUMENT, definitions: [] };

/**
 * Parsed and validated subscription documents by their text. Clients open many subscriptions
 * with the same few documents: each is parsed and validated once and one tree serves them
 * all, instead of a tree per subscription for its whole life.
 *
 * As over HTTP, the parser reads at most `maxTokens` tokens (GRAPHQL_MAX_TOKENS), and the
 * rules are expected to include `documentLimitsRule`, which refuses a document over the
 * limits before graphql-js's own rules walk it.
 */
export class ValidDocuments {
  private readonly valid = new DocumentCache();

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly rules: ValidationRule[],
    private readonly maxTokens = DEFAULT_MAX_DOCUMENT_TOKENS,
    private readonly maxBytes = Infinity,
  ) {}

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
    // Too large for the cache even without locations: used once, not parsed again.
    if (documentHeapBytes(WITHOUT_LOCATIONS, query.length) > DOCUMENT_CACHE_BYTES)
      return { document: parsed.document };
    // Kept without source locations: they only serve error messages, and this one is valid.
    const kept = parseDocument(query, this.maxTokens, { noLocation: true });
    if ('error' in kept) return { errors: [kept.error] };
    this.valid.put(query, kept.document, query.length);
    return { document: kept.document };
  }
}
