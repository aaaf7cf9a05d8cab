import { Module } from '@nestjs/common';
import { MailboxStoreModule } from '../mailboxes/mailbox-store.module';
import { MessageRepository } from './message.repository';
import { MessagesResolver } from './messages.resolver';
import { MessagesService } from './messages.service';

@Module({
  imports: [MailboxStoreModule],
  providers: [MessageRepository, MessagesService, MessagesResolver],
  exports: [MessageRepository, MessagesService],
})
export class MessagesModule {}
