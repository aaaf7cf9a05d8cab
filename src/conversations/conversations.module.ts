import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { MessagesModule } from '../messages/messages.module';
import { RequestDeadlineCron } from './request-deadline.cron';
import { RequestDeadlineRepository } from './request-deadline.repository';
import { RequestDeadlineService } from './request-deadline.service';

/** Conversations: the deadlines of requests (replyWithinSeconds) and their timeout notices. */
@Module({
  imports: [DeliveryModule, MessagesModule],
  providers: [RequestDeadlineRepository, RequestDeadlineService, RequestDeadlineCron],
})
export class ConversationsModule {}
