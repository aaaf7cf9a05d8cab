import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { MailboxesModule } from '../mailboxes/mailboxes.module';
import { MessagesModule } from '../messages/messages.module';
import { SafetyModule } from '../safety/safety.module';
import { StoreModule } from '../store/store.module';
import { TopicsModule } from '../topics/topics.module';
import { IdempotencyRepository } from './idempotency.repository';
import { MessageRouterService } from './message-router.service';
import { OutageQueueService } from './outage-queue.service';
import { RoutingResolver } from './routing.resolver';

@Module({
  imports: [
    AuthModule,
    MessagesModule,
    MailboxesModule,
    TopicsModule,
    DeliveryModule,
    StoreModule,
    SafetyModule,
  ],
  providers: [IdempotencyRepository, OutageQueueService, MessageRouterService, RoutingResolver],
  exports: [MessageRouterService, OutageQueueService],
})
export class RoutingModule {}
