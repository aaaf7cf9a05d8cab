import { InvalidFieldError } from '../messages/message.errors';
import { assertMessageId } from '../messages/message-id';
import { assertMailboxName } from '../routing/address';
import type { DeadLetterPlace } from './delivery-confirmation.repository';

/**
 * `DeadLetter.cursor`: `<deadLetteredAt, epoch ms>|<mailbox>|<message id>`. Neither a mailbox
 * name nor a message id holds a `|`.
 */
export function formatDeadLetterCursor(place: DeadLetterPlace): string {
  return `${place.deadLetteredAt}|${place.mailbox}|${place.messageId}`;
}

/** A cursor that formatDeadLetterCursor wrote; BAD_USER_INPUT on `field` otherwise. */
export function parseDeadLetterCursor(value: string, field: string): DeadLetterPlace {
  const parts = value.split('|');
  const deadLetteredAt = Number(parts[0]);
  if (parts.length !== 3 || !/^\d{1,15}$/.test(parts[0]) || !Number.isSafeInteger(deadLetteredAt)) {
    throw new InvalidFieldError(
      field,
      `${JSON.stringify(value.slice(0, 80))} is not a dead letter's cursor (DeadLetter.cursor)`,
    );
  }
  return {
    deadLetteredAt,
    mailbox: assertMailboxName(parts[1], field),
    messageId: assertMessageId(parts[2], field),
  };
}
