import { Args, ID, Int, Query, Resolver, Subscription } from '@nestjs/graphql';
import type { BodyReads } from '../messages/body-reads';
import { OperationBodyReads } from '../messages/body-reads.decorators';
import { MessageConnection } from '../messages/message-connection.model';
import { toConnection } from '../messages/message-page.mapper';
import { Message } from '../messages/message.model';
import { assertMessageId } from '../messages/message-id';
import { MessagesService } from '../messages/messages.service';
import { DEFAULT_PAGE_SIZE } from '../messages/page-args';
import { assertTopic, assertTopicPattern } from '../routing/address';
import { TopicFeedService } from './topic-feed.service';
import { Topic, TopicConnection } from './topic.model';
import { TopicRepository, type TopicRecord } from './topic.repository';
import { TopicsService } from './topics.service';

function toTopic(record: TopicRecord): Topic {
  return {
    name: record.name,
    createdAt: new Date(record.createdAt),
    lastMessageAt: new Date(record.lastMessageAt),
    messageCount: record.messageCount,
  };
}

/** Topics are readable by every token: no decorator beyond the guard's authentication. */
@Resolver()
export class TopicsResolver {
  constructor(
    private readonly messages: MessagesService,
    private readonly repository: TopicRepository,
    private readonly listing: TopicsService,
    private readonly feeds: TopicFeedService,
  ) {}

  @Query(() => MessageConnection, {
    description:
      "A topic's stored, unexpired messages, oldest first. A page stops once its operation has read 64 MiB of bodies, or once it has looked at 5,000 entries (expired ones included): it may come back short with hasNextPage true; go on from endCursor. A page that selects neither content nor tokenEstimate reads no content (its metadata still counts), or with preview has Redis send only the start of each.",
  })
  async topicMessages(
    @Args('topic') topic: string,
    @Args('first', { type: () => Int, nullable: true, defaultValue: DEFAULT_PAGE_SIZE })
    first: number | null,
    @Args('after', { type: () => ID, nullable: true }) after: string | null,
    @OperationBodyReads('page') reads: BodyReads,
  ): Promise<MessageConnection> {
    const key = this.repository.messagesKey(assertTopic(topic, 'topic'));
    return toConnection(await this.messages.page(key, first ?? DEFAULT_PAGE_SIZE, after, reads));
  }

  @Query(() => TopicConnection, {
    description:
      'Known topics (every topic that has had a message) with their last message time, in name order; pattern as in the topicMessages subscription. after = the endCursor of the previous page.',
  })
  async topics(
    @Args('pattern', { type: () => String, nullable: true }) pattern: string | null,
    @Args('first', { type: () => Int, nullable: true, defaultValue: DEFAULT_PAGE_SIZE })
    first: number | null,
    @Args('after', { type: () => ID, nullable: true }) after: string | null,
  ): Promise<TopicConnection> {
    const page = await this.listing.list(
      pattern === null || pattern === undefined ? null : assertTopicPattern(pattern, 'pattern'),
      first ?? DEFAULT_PAGE_SIZE,
      after === null || after === undefined ? null : assertTopic(after, 'after'),
    );
    return {
      nodes: page.topics.map(toTopic),
      pageInfo: { endCursor: page.endCursor, hasNextPage: page.hasNextPage },
    };
  }

  @Subscription(() => Message, {
    name: 'topicMessages',
    description:
      'Messages of every topic the pattern matches: * is one segment, # zero or more. after absent: live messages only. after = a message id: every stored, unexpired message of those topics newer than it, in id order, then live, with no gap and no duplicate. after = "0": from the start.',
    resolve: (message: Message) => message,
  })
  async topicMessagesFeed(
    @Args('pattern') pattern: string,
    @Args('after', { type: () => ID, nullable: true }) after: string | null,
  ): Promise<AsyncIterableIterator<Message>> {
    const checked = assertTopicPattern(pattern, 'pattern');
    const cursor =
      after === null || after === undefined ? null : assertMessageId(after, 'after', true);
    return this.feeds.open(checked, cursor);
  }
}
