import { AppError } from '../common/app-error';

/** SEARCH_ENABLED=false: nothing is indexed, so no search could be complete. */
export class SearchDisabledError extends AppError {
  constructor() {
    super(
      'FORBIDDEN',
      'searchMessages: search is turned off on this service (SEARCH_ENABLED=false)',
      { field: 'searchMessages', reason: 'SEARCH_DISABLED' },
    );
  }
}
