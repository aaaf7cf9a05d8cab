import { InvalidFieldError } from './message.errors';
import { assertMessageId } from './message-id';

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;

/** Checks `first` and `after` of a paged field. */
export function checkPageArgs(
  first: number,
  after: string | null | undefined,
): { first: number; after: string | null } {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new InvalidFieldError('first', `must be from 1 to ${MAX_PAGE_SIZE}`, MAX_PAGE_SIZE);
  }
  return {
    first,
    after: after === null || after === undefined ? null : assertMessageId(after, 'after', true),
  };
}
