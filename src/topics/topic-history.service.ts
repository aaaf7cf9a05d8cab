import { Injectable } from '@nestjs/common';
import { messageIdTime } from '../messages/message-id';
import { MessageRepository } from '../messages/message.repository';
import { arrivalKey, fromArrivalKey, type Arrival, type ArrivalCursor } from './arrival-cursor';
import { TooManyTopicsError } from './topic.errors';
import { DEFAULT_MERGE_BOUNDS, TopicHistoryMerge } from './topic-history-merge';
import { compileTopicPattern, literalPrefix } from './topic-pattern';
import { TopicRepository } from './topic.repository';

/** Topics one catch-up reads side by side at most (see TooManyTopicsError). */
export const MAX_CATCH_UP_TOPICS = 10_000;
/** Topics one reading of the newest messages looks into at most. */
const MAX_NEWEST_TOPICS = 1_000;
/**
 * How far the clocks of the instances that store topic messages may be behind Redis's: a
 * reading after an arrival looks into the topics written since this long before it.
 */
export const ARRIVAL_CLOCK_MARGIN_MS = 60_000;

/**
 * The stored histories of the topics a pattern matches, read as one: after a cursor in id
 * order (a subscription's catch-up), after a place in the order of storing (a reading that
 * goes on, arrivalsAfter), or the newest. Ids are ULIDs, so id order is time order across
 * topics. Callers validate patterns and cursors.
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
    return this.matching(
      pattern,
      this.topics.activeSince(after === '0' ? null : messageIdTime(after)),
    );
  }

  /** The names among `chunks` that the pattern matches, once each; see MAX_CATCH_UP_TOPICS. */
  private async matching(pattern: string, chunks: AsyncIterable<string[]>): Promise<string[]> {
    const matches = compileTopicPattern(pattern);
    const found = new Set<string>();
    for await (const names of chunks) {
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

  /**
   * Up to `count` messages of the matching topics stored after the cursor, in the order they
   * were stored (see ArrivalCursor), and whether more are stored after them. Unlike a reading
   * in id order, one that goes on from the last of them misses no message stored later with
   * an older id (by a slow send, another instance, the outage queue).
   *
   * The topics read are those the arrivals index marks as written since ARRIVAL_CLOCK_MARGIN_MS
   * before the cursor's time, or the topic itself when the pattern has no wildcard.
   */
  async arrivalsAfter(
    pattern: string,
    cursor: ArrivalCursor,
    count: number,
  ): Promise<{ arrivals: Arrival[]; more: boolean }> {
    const topics = isLiteral(pattern)
      ? [pattern]
      : await this.matching(
          pattern,
          this.topics.storedSince(
            cursor.stamp === 0 ? -Infinity : cursor.stamp / 1_000 - ARRIVAL_CLOCK_MARGIN_MS,
          ),
        );
    const merge = await TopicHistoryMerge.open(
      topics,
      arrivalKey(cursor),
      async (topic, after, perTopic) => {
        const page = await this.topics.arrivalsAfter(topic, fromArrivalKey(after), perTopic);
        return { ids: page.arrivals.map(arrivalKey), hasNextPage: page.more };
      },
      { ...DEFAULT_MERGE_BOUNDS, maxPerTopic: count + 1 },
    );
    const keys = await merge.next(count + 1);
    // Every key the merge gives is a message's, with its id.
    const arrivals = keys.slice(0, count).map((key) => fromArrivalKey(key) as Arrival);
    return { arrivals, more: keys.length > count };
  }

  /** A stored topic message's place among the topic's arrivals, or null when it is not there. */
  arrivalOf(topic: string, id: string): Promise<Arrival | null> {
    return this.topics.arrivalOf(topic, id);
  }

  /**
   * The place after every message of the matching topics stored until now: a topic's own last
   * arrival, or this Redis's time for a pattern.
   */
  async arrivalMark(pattern: string): Promise<ArrivalCursor> {
    return isLiteral(pattern) ? this.topics.lastArrival(pattern) : this.topics.arrivalNow();
  }

  /**
   * The newest `count` ids of the matching topics, newest first. Topics are read latest
   * activity first, each its newest `count` ids, until the next topic's last message is older
   * than the newest `count` found so far: no message of it, or of any topic after it, can be
   * among them. A topic whose history has emptied (its messages expired) gives nothing and
   * the scan goes on past it. At most MAX_NEWEST_TOPICS topics are read.
   */
  async newestIds(pattern: string, count: number): Promise<string[]> {
    if (isLiteral(pattern)) return this.topics.newestIds(pattern, count);
    const matches = compileTopicPattern(pattern);
    let newest: string[] = [];
    let read = 0;
    for await (const entries of this.topics.newestActive()) {
      for (const { name, score } of entries) {
        if (!matches(name)) continue;
        const full = newest.length === count;
        if ((full && score < messageIdTime(newest[count - 1])) || read === MAX_NEWEST_TOPICS) {
          return newest;
        }
        read += 1;
        newest = [...newest, ...(await this.topics.newestIds(name, count))]
          .sort((a, b) => (a < b ? 1 : a > b ? -1 : 0))
          .slice(0, count);
      }
    }
    return newest;
  }
}

/** Whether a pattern has no wildcard: it matches one topic, itself. */
function isLiteral(pattern: string): boolean {
  return literalPrefix(pattern) === pattern;
}
