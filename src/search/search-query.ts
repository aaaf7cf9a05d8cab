import { moreCharactersThan } from '../common/text-length';
import { InvalidFieldError } from '../messages/message.errors';
import { assertMessageId } from '../messages/message-id';
import { MAX_TERM_LENGTH, MIN_TERM_LENGTH, queryWords } from './search-tokenizer';

/** Characters of a query, before it is split. */
export const MAX_QUERY_LENGTH = 256;
/** Distinct terms of a query, all of which a result holds (AND). */
export const MAX_QUERY_TERMS = 8;
export const DEFAULT_SEARCH_PAGE = 20;
export const MAX_SEARCH_PAGE = 100;
/** Characters of the `threadId` filter: as long as a threadId a send may set. */
export const MAX_THREAD_ID_LENGTH = 256;

/** A search as the service runs it, every argument checked. */
export interface SearchQuery {
  terms: string[];
  first: number;
  /** Results are older than this message id; null: from the newest. */
  after: string | null;
  threadId: string | null;
}

/** Checks the terms of `query`: BAD_USER_INPUT naming the field and the limit otherwise. */
export function checkQueryTerms(query: string): string[] {
  if (query.length > MAX_QUERY_LENGTH) {
    throw new InvalidFieldError(
      'query',
      `${query.length} characters exceeds the limit of ${MAX_QUERY_LENGTH}`,
      MAX_QUERY_LENGTH,
    );
  }
  const { terms, tooLong } = queryWords(query);
  if (tooLong.length > 0) {
    throw new InvalidFieldError(
      'query',
      `the word ${JSON.stringify(tooLong[0].slice(0, 40) + (tooLong[0].length > 40 ? '...' : ''))} is longer than ${MAX_TERM_LENGTH} characters, the longest word indexed`,
      MAX_TERM_LENGTH,
    );
  }
  if (terms.length === 0) {
    throw new InvalidFieldError(
      'query',
      `has no word to search for: at least 1 word of ${MIN_TERM_LENGTH} or more letters or digits, other than a stop word ("the", "and", ...)`,
      1,
    );
  }
  if (terms.length > MAX_QUERY_TERMS) {
    throw new InvalidFieldError(
      'query',
      `${terms.length} distinct words exceeds the limit of ${MAX_QUERY_TERMS}`,
      MAX_QUERY_TERMS,
    );
  }
  return terms;
}

/** Checks every argument of `searchMessages` but the mailbox, which is a question of access. */
export function checkSearchQuery(args: {
  query: string;
  first: number | null | undefined;
  after: string | null | undefined;
  threadId: string | null | undefined;
}): SearchQuery {
  const terms = checkQueryTerms(args.query);
  const first = args.first ?? DEFAULT_SEARCH_PAGE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_SEARCH_PAGE) {
    throw new InvalidFieldError('first', `must be from 1 to ${MAX_SEARCH_PAGE}`, MAX_SEARCH_PAGE);
  }
  const after =
    args.after === null || args.after === undefined ? null : assertMessageId(args.after, 'after');
  const threadId = args.threadId ?? null;
  if (
    threadId !== null &&
    (threadId.length === 0 || moreCharactersThan(threadId, MAX_THREAD_ID_LENGTH))
  ) {
    throw new InvalidFieldError(
      'threadId',
      `must be 1 to ${MAX_THREAD_ID_LENGTH} characters`,
      MAX_THREAD_ID_LENGTH,
    );
  }
  return { terms, first, after, threadId };
}
