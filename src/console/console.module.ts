import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { InboxModule } from '../inbox/inbox.module';
import { MailboxesModule } from '../mailboxes/mailboxes.module';
import { SafetyModule } from '../safety/safety.module';
import { ConsoleController } from './console.controller';
import { MailboxPageResolver } from './mailbox-page.resolver';
import { MailboxPageService } from './mailbox-page.service';

/** The operator console's pages and the mailbox table it reads (`mailboxPage`). */
@Module({
  imports: [DeliveryModule, InboxModule, MailboxesModule, SafetyModule],
  providers: [MailboxPageService, MailboxPageResolver],
  controllers: [ConsoleController],
})
export class ConsoleModule {}
