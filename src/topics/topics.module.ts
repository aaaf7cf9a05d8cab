import { Module } from '@nestjs/common';
import { MessagesModule } from '../messages/messages.module';
import { TopicFeedService } from './topic-feed.service';
import { TopicHistoryService } from './topic-history.service';
import { TopicRepository } from './topic.repository';
import { TopicsResolver } from './topics.resolver';
import { TopicsService } from './topics.service';

@Module({
  imports: [MessagesModule],
  providers: [
    TopicRepository,
    TopicHistoryService,
    TopicsService,
    TopicFeedService,
    TopicsResolver,
  ],
  exports: [TopicRepository, TopicHistoryService],
})
export class TopicsModule {}
