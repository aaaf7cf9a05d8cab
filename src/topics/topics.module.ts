import { Module } from '@nestjs/common';
import { MessagesModule } from '../messages/messages.module';
import { TopicFeedService } from './topic-feed.service';
import { TopicRepository } from './topic.repository';
import { TopicsResolver } from './topics.resolver';
import { TopicsService } from './topics.service';

@Module({
  imports: [MessagesModule],
  providers: [TopicRepository, TopicsService, TopicFeedService, TopicsResolver],
  exports: [TopicRepository],
})
export class TopicsModule {}
