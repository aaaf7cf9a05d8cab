import { RecentIds } from '../common/recent-ids';
import { Injectable, Logger } from '@nestjs/common';
import { encodeTime } from 'ulid';
import { Clock } from '../common/clock';
import { PushIterator } from '../graphql/push-iterator';
import { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import { catchUpCursor, whenStoreAnswers } from '../redis/feed-catch-up';
import { ownBodyReads, REPLAY_PAGE_BYTES } from '../messages/body-reads';
import { HeldMessages } from '../messages/held-messages';
import type { Message } from '../messages/message.model';
import { MessagesService } from '../messages/messages.service';
import {
  fromPushPayload,
  isExpired,
  liveMessageModel,
  toMessageModel,
  type PushedMessage,
} from '../messages/stored-message';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import { DeliveryService } from '../delivery/delivery.service';
import { MailboxRepository } from './mailbox.repository';

const REPLAY_PAGE = 200;
/** Ids pushed lately, remembered to drop their twins from a live push or a catch-up. */
const REPLAY_MEMORY = 10_000;
/** For DeliveryService.subscriberArrived: no id is known to have been pushed. */
const NONE_PUSHED = { has: (): boolean => false };

/**
 * Live mailbox feeds that resume from a cursor with no gap and no duplicate.
 *
 * The feed subscribes to the mailbox channel first and holds what arrives live while it
 * replays the stored messages after the cursor; then it releases the held messages it did
 * not already replay, and goes live. Storing and publishing happen in one script, so a
 * message is either stored before the subscription began (and replayed) or published after
 * it (and held): nothing falls between.
 */
@Injectable()
export class MailboxFeedService {
  private readonly logger = new Logger(MailboxFeedService.name);
  /** Pushes of waiting deliveries under way after a reconnect, by mailbox. */
  private readonly arrivals = new Map<string, Promise<void>>();

  constructor(
    private readonly pubsub: RedisPubSubService,
    private readonly mailboxes: MailboxRepository,
    private readonly messages: MessagesService,
    private readonly delivery: DeliveryService,
    private readonly breaker: RedisCircuitBreaker,
    private readonly clock: Clock,
  ) {}

  async open(mailbox: string, after: string | null): Promise<AsyncIterableIterator<Message>> {
    const seen = new RecentIds(REPLAY_MEMORY);
    // Live messages held while a replay or a catch-up runs; null while the feed is live.
    let held: HeldMessages | null = after === null ? null : new HeldMessages();
    // The newest id this feed has pushed: where a catch-up after a Redis drop starts.
    let newest = after ?? encodeTime(this.clock.now()) + '0'.repeat(16);
    let stopCatchingUp: () => void = () => undefined;
    let unsubscribe: () => Promise<void> = () => Promise.resolve();
    const iterator = new PushIterator<Message>(() => {
      stopCatchingUp();
      return unsubscribe();
    });

    const deliver = (message: PushedMessage): void => {
      if (isExpired(message, this.clock.now())) return;
      // A message's first push reaches the feed once: a replayed message's live twin, and a
      // push repeated after a failover, are dropped; a retry, and the first attempt after a
      // redrive, are not.
      const first =
        message.redrivenAt === undefined ? message.id : `${message.id}@${message.redrivenAt}`;
      if ((message.deliveryAttempt ?? 0) <= 1 && seen.has(first)) return;
      seen.add(message.id);
      seen.add(first);
      if (message.id > newest) newest = message.id;
      iterator.push(liveMessageModel(message));
    };

    // When the earliest drop that came back during a replay began (epoch ms); null: none.
    let droppedSince: number | null = null;
    const replayFrom = (from: string): Promise<void> =>
      this.replay(mailbox, from, iterator, seen, (id) => {
        if (id > newest) newest = id;
      });
    /**
     * Replays from `from` while holding live messages, then again from before each drop that
     * came back meanwhile, then releases what was not replayed.
     */
    const catchUp = async (from: string): Promise<void> => {
      await replayFrom(from);
      while (droppedSince !== null && !iterator.closed) {
        const again = catchUpCursor(droppedSince, newest, after);
        droppedSince = null;
        await whenStoreAnswers(
          this.breaker,
          this.clock,
          () => iterator.closed,
          () => replayFrom(again),
        );
      }
      const waiting = held?.takeAll() ?? [];
      held = null;
      for (const message of waiting) deliver(message);
    };
    const fail = (error: unknown): void => {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.logger.warn(`feed of ${mailbox} failed: ${failure.message}`);
      iterator.fail(failure);
    };

    unsubscribe = await this.pubsub.subscribe(this.mailboxes.feedChannel(mailbox), (payload) => {
      const message = fromPushPayload(payload);
      if (!message) {
        this.logger.error(`unreadable push on the feed of ${mailbox} dropped`);
        return;
      }
      if (iterator.closed) return;
      if (held === null) deliver(message);
      else if (!held.add(message)) iterator.fail(HeldMessages.overflow());
    });
    // The client may have gone while the subscription was being set up.
    if (iterator.closed) {
      await unsubscribe();
      return iterator;
    }
    // Pub/sub drops what is published while the subscriber connection is down: after a
    // reconnect the feed reads the gap from the stored mailbox.
    stopCatchingUp = this.pubsub.onReconnect((downSince) => {
      if (iterator.closed) return;
      if (held) {
        // The replay under way may have passed what was stored during this drop: an id made a
        // little before one it read (by another instance), or one stored after its last page.
        droppedSince = Math.min(droppedSince ?? downSince, downSince);
        return;
      }
      held = new HeldMessages();
      const from = catchUpCursor(downSince, newest, after);
      // Tracked deliveries that went waiting while the feed could not be reached (their retry
      // found no subscriber) go out after the catch-up, as for a new subscriber. The feed may
      // have pushed their earlier attempts, so none is passed over as pushed already: only a
      // waiting delivery can be claimed, so nothing goes out twice.
      whenStoreAnswers(
        this.breaker,
        this.clock,
        () => iterator.closed,
        () => catchUp(from),
      )
        .then(() => {
          if (!iterator.closed) this.arrivedAgain(mailbox);
        })
        .catch(fail);
    });

    (after === null ? Promise.resolve() : catchUp(after))
      .then(async () => {
        // Tracked deliveries that waited for a subscriber go out now.
        if (!iterator.closed) await this.delivery.subscriberArrived(mailbox, seen);
      })
      .catch(fail);
    return iterator;
  }

  /**
   * After a reconnect, the waiting deliveries of a mailbox go out once, however many of its
   * feeds this instance holds; a failure is logged, not the feed's: its catch-up is done,
   * and the next subscription or retry pushes what is left.
   */
  private arrivedAgain(mailbox: string): void {
    if (this.arrivals.has(mailbox)) return;
    const arrival = this.delivery
      .subscriberArrived(mailbox, NONE_PUSHED)
      .catch((error: unknown) =>
        this.logger.warn(
          `waiting deliveries of ${mailbox} not pushed after the reconnect: ${(error as Error).message}`,
        ),
      )
      .finally(() => this.arrivals.delete(mailbox));
    this.arrivals.set(mailbox, arrival);
  }

  private async replay(
    mailbox: string,
    after: string,
    iterator: PushIterator<Message>,
    seen: RecentIds,
    pushed: (id: string) => void,
  ): Promise<void> {
    const index = this.mailboxes.messagesKey(mailbox);
    let cursor: string | null = after;
    for (;;) {
      await iterator.room();
      if (iterator.closed) return;
      const page = await this.messages.page(
        index,
        REPLAY_PAGE,
        cursor,
        ownBodyReads(REPLAY_PAGE_BYTES),
      );
      // A catch-up starts a little early: what this feed already pushed is not pushed again.
      const fresh = page.messages.filter((message) => !seen.has(message.id));
      // For a message sent with requireConfirmation, this push is its delivery attempt.
      const [attempts, read] = await Promise.all([
        this.delivery.replayed(mailbox, fresh),
        this.mailboxes.readFlags(
          mailbox,
          fresh.map((message) => message.id),
        ),
      ]);
      fresh.forEach((message, index) => {
        seen.add(message.id);
        pushed(message.id);
        iterator.push(
          toMessageModel({ ...message, deliveryAttempt: attempts.get(message.id) }, read[index]),
        );
      });
      cursor = page.endCursor;
      if (!page.hasNextPage) return;
    }
  }
}
