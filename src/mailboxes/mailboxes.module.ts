import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { MessagesModule } from '../messages/messages.module';
import { MailboxStoreModule } from './mailbox-store.module';
import { MailboxFeedService } from './mailbox-feed.service';
import { MailboxesResolver } from './mailboxes.resolver';
import { MailboxesService } from './mailboxes.service';
import { PresenceService } from './presence.service';

@Module({
  imports: [MessagesModule, MailboxStoreModule, DeliveryModule, AuthModule],
  providers: [MailboxesService, MailboxFeedService, MailboxesResolver, PresenceService],
  exports: [MailboxStoreModule, MailboxesService, PresenceService],
})
export class MailboxesModule {}
