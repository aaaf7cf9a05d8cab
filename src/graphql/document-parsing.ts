import { GraphQLError, parse, type DocumentNode } from 'graphql';
import { toGraphqlError } from './graphql-error';
import { DocumentLimitError } from './graphql-transport.errors';
import { DEFAULT_DOCUMENT_LIMITS } from './validation-rules';

/**
 * GRAPHQL_MAX_TOKENS' default, for callers that are not given the configured value.
 * The parser's cost grows with the tokens it reads; this bound keeps it to milliseconds.
 */
export const DEFAULT_MAX_DOCUMENT_TOKENS = 10_000;

/** graphql-js's message when `maxTokens` stops the parser ("more that": its spelling). */
const TOKEN_LIMIT = /Document contains more tha[nt] (\d+) tokens\. Parsing aborted\.$/;

/**
 * V8's message when the parser's recursion runs out of stack: the token limit allows
 * thousands of nested braces, and the parser descends one call chain per level.
 */
const TOO_DEEP = 'Maximum call stack size exceeded';

/**
 * The refusal for a document the parser gave up on because of its size or nesting, as a
 * document limit; null for an ordinary syntax error.
 */
function parseLimitError(message: string): DocumentLimitError | null {
  const tokens = TOKEN_LIMIT.exec(message);
  if (tokens) {
    const limit = Number(tokens[1]);
    return new DocumentLimitError(
      `the document has more than ${limit} tokens; the limit is ${limit}`,
      limit,
    );
  }
  if (message === TOO_DEEP) {
    const limit = DEFAULT_DOCUMENT_LIMITS.maxDepth;
    return new DocumentLimitError(
      `the document nests too deeply to be parsed; the depth limit is ${limit}`,
      limit,
    );
  }
  return null;
}

/** Parses `text`, reading at most `maxTokens` tokens; a refusal names the limit it broke. */
export function parseDocument(
  text: string,
  maxTokens: number,
): { document: DocumentNode } | { error: GraphQLError } {
  try {
    return { document: parse(text, { maxTokens }) };
  } catch (thrown) {
    const refusal = parseLimitError((thrown as Error).message);
    if (refusal) return { error: toGraphqlError(refusal, 'parse') };
    if (thrown instanceof GraphQLError) return { error: thrown };
    return { error: new GraphQLError('query: cannot be parsed') };
  }
}
