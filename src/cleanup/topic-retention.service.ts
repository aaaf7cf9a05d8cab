import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfigService } from '../config/app-config.service';
import { AddressingMode } from '../messages/message.model';
import { threadKey } from '../messages/thread-key';
import { TopicRepository } from '../topics/topic.repository';
import { CleanupRepository, expiryMember, type ExpiredEntry } from './cleanup.repository';
import { RetentionRepository } from './retention.repository';

/** Messages one step takes out of one topic: a bound on the reads and writes around it. */
const BATCH = 200;
/** Topics whose sizes are read at once. */
const CHUNK = 100;

/**
 * TOPIC_MAX_MESSAGES: each topic's history keeps its newest this many messages, as JetStream's
 * `MaxMsgs` bounds a stream and MAILBOX_MAX_MESSAGES a mailbox. A pass over the topics in name
 * order, from the topic after which the last run stopped, reads each history's size and takes
 * the oldest messages past the limit out, batch by batch, as the cleanup of an expired topic
 * message does (CleanupRepository.purge): the history and arrival entries, the thread
 * entries, the hash and the expiry schedule's entry. It stops at the caller's deadline; the
 * next run goes on from there. A trim leaves at least one message, so the topic stays listed.
 */
@Injectable()
export class TopicRetentionService {
  constructor(
    private readonly config: AppConfigService,
    private readonly topics: TopicRepository,
    private readonly retention: RetentionRepository,
    private readonly cleanup: CleanupRepository,
    private readonly clock: Clock,
  ) {}

  /** Trims every topic it reaches before the deadline; returns how many messages it removed. */
  async enforceLimit(deadline: number): Promise<number> {
    const limit = this.config.retention.topicMaxMessages;
    if (limit === 0) return 0;
    const total = await this.topics.count();
    let after = await this.retention.topicCursor();
    let visited = 0;
    let removed = 0;
    while (visited < total && this.clock.now() < deadline) {
      const names = await this.topics.names(
        { after, prefix: '' },
        Math.min(CHUNK, total - visited),
      );
      if (names.length === 0) {
        // The end of the index: the pass goes on from its start.
        if (after === null) break;
        after = null;
        continue;
      }
      const sizes = await this.topics.historySizes(names);
      for (let index = 0; index < names.length; index += 1) {
        if (sizes[index] <= limit) continue;
        const trimmed = await this.trimTopic(names[index], sizes[index] - limit, deadline);
        removed += trimmed.removed;
        if (!trimmed.finished) {
          // Out of time inside this topic: the next run starts with it.
          await this.retention.saveTopicCursor(index === 0 ? after : names[index - 1]);
          return removed;
        }
      }
      after = names[names.length - 1];
      visited += names.length;
    }
    await this.retention.saveTopicCursor(after);
    return removed;
  }

  /** Takes the oldest `excess` messages out of the topic, a batch at a time. */
  private async trimTopic(
    topic: string,
    excess: number,
    deadline: number,
  ): Promise<{ removed: number; finished: boolean }> {
    let removed = 0;
    while (removed < excess) {
      const ids = await this.topics.oldestIds(topic, Math.min(BATCH, excess - removed));
      if (ids.length === 0) break;
      const heads = await this.retention.heads(ids);
      await Promise.all(
        ids.map((id, index) => this.cleanup.purge(this.entry(topic, id, heads[index]), [])),
      );
      removed += ids.length;
      if (removed < excess && this.clock.now() >= deadline) return { removed, finished: false };
    }
    return { removed, finished: true };
  }

  /**
   * What the expiry cleanup would have of the message: its schedule entry names the thread of
   * another that it is in. Of a message whose hash has lapsed (its `ttlSeconds` passed), the
   * thread is not known: its topic entries and its own thread's index go here, and its
   * schedule entry, due already, is the expiry cleanup's, which removes the rest.
   */
  private entry(topic: string, id: string, head: { threadId: string } | null): ExpiredEntry {
    const threadId = head?.threadId ?? id;
    return {
      member: expiryMember({ id, mode: AddressingMode.TOPIC, target: topic, threadId }),
      messageId: id,
      mode: AddressingMode.TOPIC,
      target: topic,
      threadKey: threadId === id ? null : threadKey(threadId),
    };
  }
}
