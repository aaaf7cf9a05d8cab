import type { Mailbox } from './mailbox.model';
import type { MailboxRecord } from './mailbox.repository';

/** The GraphQL shape of a stored mailbox. */
export function toMailbox(record: MailboxRecord): Mailbox {
  return {
    name: record.name,
    active: record.active,
    createdAt: new Date(record.createdAt),
    lastSeenAt: record.lastSeenAt === null ? null : new Date(record.lastSeenAt),
    metadata: record.metadata,
  };
}
