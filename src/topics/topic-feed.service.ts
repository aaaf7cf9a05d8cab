import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { PushIterator } from '../graphql/push-iterator';
import type { Message } from '../messages/message.model';
import { fromPushPayload, isExpired, liveMessageModel } from '../messages/stored-message';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import { compileTopicPattern } from './topic-pattern';
import { TopicRepository } from './topic.repository';

/**
 * Live topic feeds. Every instance with topic subscribers listens on the one topic channel
 * and matches patterns itself, so no user text ever becomes a Redis glob.
 */
@Injectable()
export class TopicFeedService {
  private readonly logger = new Logger(TopicFeedService.name);

  constructor(
    private readonly pubsub: RedisPubSubService,
    private readonly topics: TopicRepository,
    private readonly clock: Clock,
  ) {}

  async open(pattern: string): Promise<AsyncIterableIterator<Message>> {
    const matches = compileTopicPattern(pattern);
    let unsubscribe: () => Promise<void> = () => Promise.resolve();
    const iterator = new PushIterator<Message>(() => unsubscribe());
    unsubscribe = await this.pubsub.subscribe(this.topics.feedChannel(), (payload) => {
      const message = fromPushPayload(payload);
      if (!message) {
        this.logger.error('unreadable push on the topic feed dropped');
        return;
      }
      if (
        message.target !== null &&
        matches(message.target) &&
        !isExpired(message, this.clock.now())
      ) {
        iterator.push(liveMessageModel(message));
      }
    });
    // The client may have gone while the subscription was being set up.
    if (iterator.closed) await unsubscribe();
    return iterator;
  }
}
