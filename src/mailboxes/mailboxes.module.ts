import { Module } from '@nestjs/common';
import { MessagesModule } from '../messages/messages.module';
import { MailboxFeedService } from './mailbox-feed.service';
import { MailboxRepository } from './mailbox.repository';
import { MailboxesResolver } from './mailboxes.resolver';
import { MailboxesService } from './mailboxes.service';
import { PresenceService } from './presence.service';

@Module({
  imports: [MessagesModule],
  providers: [
    MailboxRepository,
    MailboxesService,
    MailboxFeedService,
    MailboxesResolver,
    PresenceService,
  ],
  exports: [MailboxRepository, MailboxesService, PresenceService],
})
export class MailboxesModule {}
