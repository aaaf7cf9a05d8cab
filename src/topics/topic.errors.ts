import { AppError } from '../common/app-error';

/**
 * A catch-up whose pattern matches more topics with messages after the cursor than one
 * subscription merges: each such topic is read side by side, so their number bounds the
 * memory the catch-up holds.
 */
export class TooManyTopicsError extends AppError {
  constructor(limit: number) {
    super(
      'BAD_USER_INPUT',
      `pattern: matches more than ${limit} topics with messages after the cursor, the limit of a catch-up; narrow the pattern or resume from a later id`,
      { field: 'pattern', limit },
    );
  }
}
