import { Module } from '@nestjs/common';
import { MailboxStoreModule } from '../mailboxes/mailbox-store.module';
import { MessageStore } from './message-store';
import { SendEvents } from './send-events';

/** The store step of a send and what it announces (SendEvents) to the domains that react. */
@Module({
  imports: [MailboxStoreModule],
  providers: [MessageStore, SendEvents],
  exports: [MessageStore, SendEvents],
})
export class StoreModule {}
