import { AppError } from '../common/app-error';

/** The name's previous mailbox was deleted and its entries are still being removed. */
export class MailboxBeingDeletedError extends AppError {
  constructor(name: string) {
    super(
      'BAD_USER_INPUT',
      `name: mailbox "${name}" was deleted and its messages are still being removed; register it again in a few seconds`,
      { field: 'name' },
    );
  }
}
