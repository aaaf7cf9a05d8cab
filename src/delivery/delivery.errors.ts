import { AppError } from '../common/app-error';

export class DeliveryNotFoundError extends AppError {
  constructor(messageId: string, mailbox: string) {
    super(
      'NOT_FOUND',
      `messageId: no delivery of message ${messageId} to mailbox "${mailbox}" awaits confirmation (unknown, not sent with requireConfirmation, or cleaned up)`,
      { field: 'messageId' },
    );
  }
}

export class NotDeadLetteredError extends AppError {
  constructor(messageId: string, mailbox: string) {
    super(
      'NOT_FOUND',
      `messageId: message ${messageId} is not a dead letter of mailbox "${mailbox}"`,
      {
        field: 'messageId',
      },
    );
  }
}
