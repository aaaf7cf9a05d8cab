import { Inject, Injectable } from '@nestjs/common';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';

/** Owns `topic:{name}:*` and the topic feed channel. */
@Injectable()
export class TopicRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
  ) {}

  /**
   * Adds a stored message to the topic's history and publishes it, once. Returns the number
   * of service instances listening to topics, or null when the message was already there.
   */
  async append(
    topic: string,
    id: string,
    createdAt: number,
    payload: string,
  ): Promise<number | null> {
    const result = await this.redis.enqueueTopic(
      this.keys.topicMessages(topic),
      this.keys.topicMetadata(topic),
      id,
      createdAt,
      this.keys.topicFeed(),
      payload,
      topic,
    );
    return result === -2 ? null : result;
  }

  messagesKey(topic: string): string {
    return this.keys.topicMessages(topic);
  }

  feedChannel(): string {
    return this.keys.topicFeed();
  }
}
