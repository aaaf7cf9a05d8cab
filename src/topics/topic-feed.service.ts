import { RecentIds } from '../common/recent-ids';
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { PushIterator } from '../graphql/push-iterator';
import { HeldMessages } from '../messages/held-messages';
import { ownBodyReads, REPLAY_PAGE_BYTES } from '../messages/body-reads';
import type { Message } from '../messages/message.model';
import { MessageRepository } from '../messages/message.repository';
import {
  fromPushPayload,
  isExpired,
  liveMessageModel,
  toMessageModel,
  type StoredMessage,
} from '../messages/stored-message';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import { catchUpCursor, whenStoreAnswers } from '../redis/feed-catch-up';
import { encodeTime } from 'ulid';
import { DEFAULT_MERGE_BOUNDS, mergeById } from './topic-history-merge';
import { TopicHistoryService } from './topic-history.service';
import { compileTopicPattern } from './topic-pattern';
import { TopicRepository } from './topic.repository';

/** Messages read and pushed per step of a catch-up, once the consumer has room for them. */
const REPLAY_PAGE = 100;
/** Ids pushed lately, remembered to drop the live twin of a replayed message. */
const REPLAY_MEMORY = 10_000;
/**
 * Topic feeds: live, or from a cursor with no gap and no duplicate. Every instance with topic
 * subscribers listens on the one topic channel and matches patterns itself, so no user text
 * ever becomes a Redis glob.
 *
 * From a cursor, the feed subscribes first and holds the matching live messages while it
 * replays the stored ones after the cursor, then releases the held ones it did not replay.
 * A topic message is added to its topic's history and to the topic index before it is
 * published (TopicRepository.append), so it was either stored before the replay read it or
 * published after the subscription began: nothing falls between.
 *
 * The replay is this subscriber's own: it runs in the source stream each subscription gets,
 * and pushes objects of its own, so subscribers that share executions of live messages
 * (src/graphql/shared-execution.ts) never share a replayed one.
 *
 * Pub/sub drops what is published while the subscriber connection is down: after a
 * reconnect the feed holds live messages again and replays, the same way, from a little
 * before the drop (never from before a live feed began). A drop that comes back while a
 * replay runs is replayed after it, still holding: the replay under way chose its topics when
 * it began and reads each to its end once, so it may have passed what was published meanwhile.
 */
@Injectable()
export class TopicFeedService {
  private readonly logger = new Logger(TopicFeedService.name);

  constructor(
    private readonly pubsub: RedisPubSubService,
    private readonly topics: TopicRepository,
    private readonly history: TopicHistoryService,
    private readonly messages: MessageRepository,
    private readonly breaker: RedisCircuitBreaker,
    private readonly clock: Clock,
  ) {}

  /**
   * `after` null: live messages only. A message id: the stored, unexpired messages of every
   * matching topic newer than it, in id order, then live ones. '0': from the start.
   */
  async open(pattern: string, after: string | null): Promise<AsyncIterableIterator<Message>> {
    const matches = compileTopicPattern(pattern);
    const seen = new RecentIds(REPLAY_MEMORY);
    const held = new HeldMessages();
    // Live messages are held from the subscription until the catch-up has pushed its last page.
    let holding = after !== null;
    // Where a live feed began: a catch-up after a drop starts no earlier.
    const start = encodeTime(this.clock.now(), 10) + '0'.repeat(16);
    // The newest id this feed has pushed: where a catch-up after a drop starts at the latest.
    let newest = after ?? start;
    const pushed = (id: string): void => {
      seen.add(id);
      if (id > newest) newest = id;
    };
    let stopCatchingUp: () => void = () => undefined;
    let unsubscribe: () => Promise<void> = () => Promise.resolve();
    const iterator = new PushIterator<Message>(() => {
      stopCatchingUp();
      return unsubscribe();
    });

    unsubscribe = await this.pubsub.subscribe(this.topics.feedChannel(), (payload) => {
      const message = fromPushPayload(payload);
      if (!message) {
        this.logger.error('unreadable push on the topic feed dropped');
        return;
      }
      if (message.target === null || !matches(message.target)) return;
      if (!holding) {
        if (isExpired(message, this.clock.now()) || seen.has(message.id)) return;
        pushed(message.id);
        iterator.push(liveMessageModel(message));
      } else if (!held.add(message)) {
        holding = false;
        iterator.fail(HeldMessages.overflow());
      }
    });
    // The client may have gone while the subscription was being set up.
    if (iterator.closed) {
      await unsubscribe();
      return iterator;
    }
    const push = (replayed: StoredMessage[], upTo: string | null): void => {
      // A held message older than what the replay pushes now goes out with it, in id order:
      // the replay reads each topic lazily, so it may reach a topic's page after one of that
      // topic's messages came live.
      const live = upTo === null ? held.takeAll() : held.takeUpTo(upTo);
      if (upTo === null) holding = false;
      const fromLive = new Set(live);
      for (const message of mergeById(replayed, live)) {
        if (isExpired(message, this.clock.now()) || seen.has(message.id)) continue;
        pushed(message.id);
        iterator.push(fromLive.has(message) ? liveMessageModel(message) : toMessageModel(message));
      }
    };
    const fail = (error: unknown): void => {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.logger.warn(`catch-up of topics ${pattern} failed: ${failure.message}`);
      iterator.fail(failure);
    };
    // When the earliest drop that came back during a replay began (epoch ms); null: none.
    let droppedSince: number | null = null;
    const resumeFrom = (downSince: number): string =>
      catchUpCursor(downSince, newest, after ?? start);
    const replayAfterDrop = (from: string): Promise<void> =>
      whenStoreAnswers(
        this.breaker,
        this.clock,
        () => iterator.closed,
        async () => {
          const topics = await this.history.topicsActiveAfter(pattern, from);
          await this.replay(topics, from, iterator, push);
        },
      );
    // After a replay: again from before each drop that came back meanwhile, then live.
    const goLive = async (): Promise<void> => {
      while (droppedSince !== null && !iterator.closed) {
        const from = resumeFrom(droppedSince);
        droppedSince = null;
        await replayAfterDrop(from);
      }
      if (!iterator.closed) push([], null);
    };
    stopCatchingUp = this.pubsub.onReconnect((downSince) => {
      if (iterator.closed) return;
      if (holding) {
        // The replay under way may have passed what was published during this drop.
        droppedSince = Math.min(droppedSince ?? downSince, downSince);
        return;
      }
      holding = true;
      replayAfterDrop(resumeFrom(downSince)).then(goLive).catch(fail);
    });
    if (after === null) return iterator;

    let topics: string[];
    try {
      topics = await this.history.topicsActiveAfter(pattern, after);
    } catch (error) {
      await iterator.return();
      throw error;
    }
    this.replay(topics, after, iterator, push).then(goLive).catch(fail);
    return iterator;
  }

  /**
   * Reads the stored messages of `topics` after `after` in id order, a page at a time as the
   * consumer makes room, and hands each page to `push` with its last id. The caller ends the
   * catch-up (an empty page with null) once no other replay is to follow.
   */
  private async replay(
    topics: string[],
    after: string,
    iterator: PushIterator<Message>,
    push: (page: StoredMessage[], upTo: string | null) => void,
  ): Promise<void> {
    const merge = await this.history.mergeAfter(topics, after, DEFAULT_MERGE_BOUNDS.maxPerTopic);
    for (;;) {
      await iterator.room();
      if (iterator.closed) return;
      const ids = await merge.next(REPLAY_PAGE);
      if (iterator.closed) return;
      if (ids.length === 0) return;
      // Expired and vanished messages are left out here; the rest keep the order of `ids`.
      // Read in parts of at most REPLAY_PAGE_BYTES of bodies, each pushed when there is room.
      let sizes = await this.messages.sizes(ids);
      let rest = ids;
      while (rest.length > 0) {
        const taken = ownBodyReads(REPLAY_PAGE_BYTES).take(sizes);
        const page = await this.messages.findMany(rest.slice(0, taken));
        if (iterator.closed) return;
        push(page, rest[taken - 1]);
        rest = rest.slice(taken);
        sizes = sizes.slice(taken);
        if (rest.length > 0) await iterator.room();
        if (iterator.closed) return;
      }
    }
  }
}
