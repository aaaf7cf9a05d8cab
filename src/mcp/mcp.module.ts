import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { InboxModule } from '../inbox/inbox.module';
import { MailboxesModule } from '../mailboxes/mailboxes.module';
import { MessagesModule } from '../messages/messages.module';
import { RoutingModule } from '../routing/routing.module';
import { SafetyModule } from '../safety/safety.module';
import { SearchModule } from '../search/search.module';
import { TopicsModule } from '../topics/topics.module';
import { MailboxToolsService } from './mailbox-tools.service';
import { McpController } from './mcp.controller';
import { WaitLockRepository } from './wait-lock.repository';

/** `/mcp`: the mailbox as tools for LLM agents, on the same services as the GraphQL API. */
@Module({
  imports: [
    AuthModule,
    DeliveryModule,
    InboxModule,
    MailboxesModule,
    MessagesModule,
    RoutingModule,
    SafetyModule,
    SearchModule,
    TopicsModule,
  ],
  providers: [MailboxToolsService, WaitLockRepository],
  controllers: [McpController],
})
export class McpModule {}
