import { Args, ID, Int, Query, Resolver, Subscription } from '@nestjs/graphql';
import { MessageConnection } from '../messages/message-connection.model';
import { toConnection } from '../messages/message-page.mapper';
import { Message } from '../messages/message.model';
import { MessagesService } from '../messages/messages.service';
import { DEFAULT_PAGE_SIZE } from '../messages/page-args';
import { assertTopic, assertTopicPattern } from '../routing/address';
import { TopicFeedService } from './topic-feed.service';
import { TopicRepository } from './topic.repository';

@Resolver()
export class TopicsResolver {
  constructor(
    private readonly messages: MessagesService,
    private readonly topics: TopicRepository,
    private readonly feeds: TopicFeedService,
  ) {}

  @Query(() => MessageConnection, {
    description: "A topic's stored, unexpired messages, oldest first.",
  })
  async topicMessages(
    @Args('topic') topic: string,
    @Args('first', { type: () => Int, nullable: true, defaultValue: DEFAULT_PAGE_SIZE })
    first: number | null,
    @Args('after', { type: () => ID, nullable: true }) after: string | null,
  ): Promise<MessageConnection> {
    const key = this.topics.messagesKey(assertTopic(topic, 'topic'));
    return toConnection(await this.messages.page(key, first ?? DEFAULT_PAGE_SIZE, after));
  }

  @Subscription(() => Message, {
    name: 'topicMessages',
    description:
      'Live messages of every topic the pattern matches: * is one segment, # zero or more.',
    resolve: (message: Message) => message,
  })
  async topicMessagesFeed(
    @Args('pattern') pattern: string,
  ): Promise<AsyncIterableIterator<Message>> {
    return this.feeds.open(assertTopicPattern(pattern, 'pattern'));
  }
}
