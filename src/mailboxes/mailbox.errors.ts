import { AppError } from '../common/app-error';

export class MailboxNotFoundError extends AppError {
  constructor(name: string, field = 'name', reason = 'is not registered') {
    super('NOT_FOUND', `${field}: mailbox "${name}" ${reason}`, { field });
  }
}

export class MailboxExistsError extends AppError {
  constructor(name: string) {
    super('BAD_USER_INPUT', `name: mailbox "${name}" is already registered and active`, {
      field: 'name',
    });
  }
}
