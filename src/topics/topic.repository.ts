import { Inject, Injectable } from '@nestjs/common';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import { RedisTopology } from '../redis/redis-topology.service';
import type { ScriptedClient } from '../redis/redis-scripts';
import { TopicEnqueueCode } from '../redis/script-codes';

/** Owns `topic:{name}:*` and the topic feed channel. */
@Injectable()
export class TopicRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly topology: RedisTopology,
  ) {}

  /**
   * Adds a stored message to the topic's history, then publishes it, once. Returns the number
   * of service instances listening to topics, or null when the message was already there.
   * The feed is one channel for every topic, `topics:{feed}`: on Cluster a shard channel
   * whose slot no topic shares, so the publish is a step of its own after the script.
   */
  async append(
    topic: string,
    id: string,
    createdAt: number,
    payload: string,
  ): Promise<number | null> {
    const added = await this.redis.enqueueTopic(
      this.keys.topicMessages(topic),
      this.keys.topicMetadata(topic),
      id,
      createdAt,
      topic,
    );
    if (added === TopicEnqueueCode.Duplicate) return null;
    return this.topology.publish(this.keys.topicFeed(), payload);
  }

  messagesKey(topic: string): string {
    return this.keys.topicMessages(topic);
  }

  feedChannel(): string {
    return this.keys.topicFeed();
  }
}
