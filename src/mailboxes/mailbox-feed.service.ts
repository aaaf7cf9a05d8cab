import { Injectable, Logger } from '@nestjs/common';
import { PushIterator } from '../graphql/push-iterator';
import type { Message } from '../messages/message.model';
import { MessagesService } from '../messages/messages.service';
import { isExpired, toMessageModel, type StoredMessage } from '../messages/stored-message';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import { MailboxRepository } from './mailbox.repository';

const REPLAY_PAGE = 200;
/** Ids remembered from a replay to drop their live twins; only the newest can have one. */
const REPLAY_MEMORY = 10_000;

/** Remembers the most recent ids up to a bound, oldest forgotten first. */
class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly bound: number) {}

  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.bound) {
      const oldest = this.ids.values().next().value as string;
      this.ids.delete(oldest);
    }
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }
}

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

  constructor(
    private readonly pubsub: RedisPubSubService,
    private readonly mailboxes: MailboxRepository,
    private readonly messages: MessagesService,
  ) {}

  async open(mailbox: string, after: string | null): Promise<AsyncIterableIterator<Message>> {
    const seen = new RecentIds(REPLAY_MEMORY);
    let held: StoredMessage[] | null = after === null ? null : [];
    let unsubscribe: () => Promise<void> = () => Promise.resolve();
    const iterator = new PushIterator<Message>(() => unsubscribe());

    const deliver = (message: StoredMessage): void => {
      if (isExpired(message) || seen.has(message.id)) return;
      iterator.push(toMessageModel(message));
    };

    unsubscribe = await this.pubsub.subscribe(this.mailboxes.feedChannel(mailbox), (payload) => {
      const message = payload as StoredMessage;
      if (held) held.push(message);
      else deliver(message);
    });
    // The client may have gone while the subscription was being set up.
    if (iterator.closed) await unsubscribe();

    if (after !== null) {
      this.replay(mailbox, after, iterator, seen)
        .then(() => {
          const waiting = held ?? [];
          held = null;
          for (const message of waiting) deliver(message);
        })
        .catch((error: unknown) => {
          const failure = error instanceof Error ? error : new Error(String(error));
          this.logger.warn(`replay of ${mailbox} after ${after} failed: ${failure.message}`);
          iterator.fail(failure);
        });
    }
    return iterator;
  }

  private async replay(
    mailbox: string,
    after: string,
    iterator: PushIterator<Message>,
    seen: RecentIds,
  ): Promise<void> {
    const index = this.mailboxes.messagesKey(mailbox);
    let cursor: string | null = after;
    for (;;) {
      await iterator.room();
      if (iterator.closed) return;
      const page = await this.messages.page(index, REPLAY_PAGE, cursor);
      for (const message of page.messages) {
        seen.add(message.id);
        iterator.push(toMessageModel(message));
      }
      cursor = page.endCursor;
      if (!page.hasNextPage) return;
    }
  }
}
