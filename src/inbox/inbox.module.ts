import { Module } from '@nestjs/common';
import { MailboxesModule } from '../mailboxes/mailboxes.module';
import { MessagesModule } from '../messages/messages.module';
import { InboxRepository } from './inbox.repository';
import { InboxResolver } from './inbox.resolver';
import { InboxService } from './inbox.service';

@Module({
  imports: [MailboxesModule, MessagesModule],
  providers: [InboxRepository, InboxService, InboxResolver],
  exports: [InboxService],
})
export class InboxModule {}
