import { Injectable } from '@nestjs/common';
import { messageIdTime } from '../messages/message-id';
import { MessageRepository } from '../messages/message.repository';
import { TooManyTopicsError } from './topic.errors';
import { DEFAULT_MERGE_BOUNDS, TopicHistoryMerge } from './topic-history-merge';
import { compileTopicPattern, literalPrefix } from './topic-pattern';
import { TopicRepository } from './topic.repository';

/** Topics one catch-up reads side by side at most (see TooManyTopicsError). */
export const MAX_CATCH_UP_TOPICS = 10_000;

/** Ids of a reading after a cursor, in id order, and whether more are stored after them. */
export interface TopicIdsAfter {
  ids: string[];
  more: boolean;
}

/**
 * The stored histories of the topics a pattern matches, read as one: after a cursor in id
 * order (a catch-up, a reading that goes on), or the newest. Ids are ULIDs, so id order is
 * time order across topics. Callers validate patterns and cursors.
 */
@Injectable()
export class TopicHistoryService {
  constructor(
    private readonly topics: TopicRepository,
    private readonly messages: MessageRepository,
  ) {}

  /**
   * The matching topics that may hold messages after the cursor ('0': from the start): those
   * whose last message is no older than the cursor's time (an id newer than the cursor has a
   * time no older), or the topic itself when the pattern has no wildcard. More than
   * MAX_CATCH_UP_TOPICS is TooManyTopicsError.
   */
  async topicsActiveAfter(pattern: string, after: string): Promise<string[]> {
    // A topic, not a pattern: its own history is all there is to read.
    if (isLiteral(pattern)) return [pattern];
    const matches = compileTopicPattern(pattern);
    const found = new Set<string>();
    for await (const names of this.topics.activeSince(
      after === '0' ? null : messageIdTime(after),
    )) {
      for (const name of names) {
        if (!matches(name)) continue;
        found.add(name);
        if (found.size > MAX_CATCH_UP_TOPICS) throw new TooManyTopicsError(MAX_CATCH_UP_TOPICS);
      }
    }
    return [...found];
  }

  /** Opens a merge of the topics' histories after the cursor; each topic's page is `perTopic` at most. */
  async mergeAfter(topics: string[], after: string, perTopic: number): Promise<TopicHistoryMerge> {
    return TopicHistoryMerge.open(
      topics,
      after,
      (topic, from, count) => this.messages.pageIds(this.topics.messagesKey(topic), from, count),
      { ...DEFAULT_MERGE_BOUNDS, maxPerTopic: perTopic },
    );
  }

  /** Up to `count` ids of the matching topics after `after`, in id order. */
  async idsAfter(pattern: string, after: string, count: number): Promise<TopicIdsAfter> {
    const topics = await this.topicsActiveAfter(pattern, after);
    // One id past `count` says whether more follow; no topic gives more than that.
    const merge = await this.mergeAfter(topics, after, count + 1);
    const ids = await merge.next(count + 1);
    return { ids: ids.slice(0, count), more: ids.length > count };
  }

  /**
   * The newest `count` ids of the matching topics, newest first. They lie in the `count`
   * matching topics whose last messages are the latest (every other topic's messages are
   * older than each of those topics' last), so only those are read.
   */
  async newestIds(pattern: string, count: number): Promise<string[]> {
    const latest: string[] = isLiteral(pattern) ? [pattern] : [];
    const matches = compileTopicPattern(pattern);
    scan: for await (const names of isLiteral(pattern) ? [] : this.topics.newestActive()) {
      for (const name of names) {
        if (!matches(name)) continue;
        latest.push(name);
        if (latest.length === count) break scan;
      }
    }
    const histories = await Promise.all(latest.map((topic) => this.topics.newestIds(topic, count)));
    return histories
      .flat()
      .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
      .slice(0, count);
  }
}

/** Whether a pattern has no wildcard: it matches one topic, itself. */
function isLiteral(pattern: string): boolean {
  return literalPrefix(pattern) === pattern;
}
