import { Module } from '@nestjs/common';
import { MessagesModule } from '../messages/messages.module';
import { TopicFeedService } from './topic-feed.service';
import { TopicRepository } from './topic.repository';
import { TopicsResolver } from './topics.resolver';

@Module({
  imports: [MessagesModule],
  providers: [TopicRepository, TopicFeedService, TopicsResolver],
  exports: [TopicRepository],
})
export class TopicsModule {}
