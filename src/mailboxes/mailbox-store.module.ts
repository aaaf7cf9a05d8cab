import { Module } from '@nestjs/common';
import { MailboxRepository } from './mailbox.repository';

/** The mailbox repository alone, for modules that write to mailboxes without owning them. */
@Module({ providers: [MailboxRepository], exports: [MailboxRepository] })
export class MailboxStoreModule {}
