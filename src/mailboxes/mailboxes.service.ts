import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { AuthService } from '../auth/auth.service';
import { issueMailboxToken, tokenDigest } from '../auth/tokens';
import { Clock } from '../common/clock';
import { exceedsJsonDepth } from '../common/json-depth';
import { AppConfigService } from '../config/app-config.service';
import { NOTICE_SENDER } from '../delivery/delivery-notice.service';
import { isReservedName } from '../messages/reserved-names';
import { InvalidFieldError, JsonTooDeepError } from '../messages/message.errors';
import { MessagesService, type MessagePage } from '../messages/messages.service';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import { assertMailboxName } from '../routing/address';
import { PushIterator } from '../graphql/push-iterator';
import { MailboxChangeKind, readMailboxChange, type MailboxChange } from './mailbox-change.model';
import { MailboxBeingDeletedError } from './mailbox-deletion.errors';
import { MailboxExistsError, MailboxNotFoundError } from './mailbox.errors';
import { MailboxRepository, type MailboxRecord } from './mailbox.repository';

const MAX_METADATA_BYTES = 64 * 1024;

/** Registration, deactivation, deletion and reading of mailboxes. */
@Injectable()
export class MailboxesService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(MailboxesService.name);
  /** How to end each live feed of this instance, by mailbox, for deletions. */
  private readonly feedEnds = new Map<string, Set<() => void>>();
  private stopListening: (() => Promise<void>) | null = null;

  constructor(
    private readonly mailboxes: MailboxRepository,
    private readonly messageReader: MessagesService,
    private readonly config: AppConfigService,
    private readonly auth: AuthService,
    private readonly pubsub: RedisPubSubService,
    private readonly clock: Clock,
  ) {}

  /**
   * Follows mailbox deletions, to end this instance's feeds of a deleted mailbox. Not awaited:
   * a service started while Redis is away must still start; the SUBSCRIBE completes when
   * Redis comes.
   */
  onModuleInit(): void {
    this.pubsub
      .subscribe(this.mailboxes.deletionChannel(), (payload) => {
        const { name } = payload as { name?: unknown };
        if (typeof name === 'string') this.endFeeds(name);
      })
      .then((stop) => {
        this.stopListening = stop;
      })
      .catch((error: unknown) =>
        this.logger.warn(`mailbox deletions not followed: ${(error as Error).message}`),
      );
  }

  async onModuleDestroy(): Promise<void> {
    await this.stopListening?.();
  }

  /** Registers (or reactivates) a mailbox and returns it with its new token. */
  async register(
    nameArg: string,
    metadata: unknown,
  ): Promise<{ mailbox: MailboxRecord; token: string }> {
    const name = assertMailboxName(nameArg, 'name');
    if (isReservedName(name)) {
      throw new InvalidFieldError(
        'name',
        `"${NOTICE_SENDER}" is reserved for the service's delivery notices`,
      );
    }
    if (metadata !== null && metadata !== undefined) {
      if (typeof metadata !== 'object' || Array.isArray(metadata)) {
        throw new InvalidFieldError('metadata', 'must be a JSON object');
      }
      // Before JSON.stringify, which recurses: too deep a value would overflow the stack here,
      // or be stored and then fail every read of the mailbox.
      const maxDepth = this.config.limits.maxJsonDepth;
      if (exceedsJsonDepth(metadata, maxDepth)) throw new JsonTooDeepError('metadata', maxDepth);
      const bytes = Buffer.byteLength(JSON.stringify(metadata));
      if (bytes > MAX_METADATA_BYTES) {
        throw new InvalidFieldError(
          'metadata',
          `${bytes} bytes exceeds the limit of ${MAX_METADATA_BYTES} bytes`,
          MAX_METADATA_BYTES,
        );
      }
    }
    // A new mailbox of a deleted one's name starts empty: not before the old entries are gone.
    if (await this.mailboxes.deletionPending(name)) throw new MailboxBeingDeletedError(name);
    const token = issueMailboxToken(name);
    const now = this.clock.now();
    const { registered, replacedDigest } = await this.mailboxes.register(
      name,
      metadata ?? null,
      tokenDigest(token),
      now,
    );
    if (!registered) throw new MailboxExistsError(name);
    // A reactivated mailbox may go to another agent: the token it had before fails at once,
    // and the subscriptions opened with it end, as after a rotation.
    if (replacedDigest !== null) await this.auth.revokedDigest(replacedDigest);
    // Registration counts as a sighting: a new agent gets broadcasts before it first connects.
    await this.mailboxes.markSeen(name, now);
    await this.announce(name, MailboxChangeKind.REGISTERED);
    return { mailbox: await this.get(name), token };
  }

  async deactivate(nameArg: string): Promise<MailboxRecord> {
    const name = assertMailboxName(nameArg, 'name');
    if (!(await this.mailboxes.deactivate(name, this.clock.now())))
      throw new MailboxNotFoundError(name);
    await this.announce(name, MailboxChangeKind.DEACTIVATED);
    return this.get(name);
  }

  /**
   * Deletes a mailbox: at once, its metadata and token (open sockets of the token close on
   * every instance), its place in the mailbox indexes and its live feeds; then, in the cleanup
   * loop's bounded batches, started at once, its entries (messages, pending deliveries, dead
   * letters, read marks). Messages it sent stay with their recipients. False when there was
   * no such mailbox.
   *
   * The steps run in an order that a crash cannot spoil: the deletion is recorded first, so
   * the cleanup loop finishes it whatever happens after (RetentionService.purgeDeletions).
   */
  async delete(nameArg: string): Promise<boolean> {
    const name = assertMailboxName(nameArg, 'name');
    const found = await this.mailboxes.find(name);
    if (found === null) return false;
    // Never before the registration it deletes, whose time another instance's clock gave.
    const at = Math.max(this.clock.now(), found.createdAt);
    await this.mailboxes.recordDeletion(name, at);
    try {
      await this.auth.revoke(name);
    } catch (error) {
      // Deleted meanwhile by another call: the steps below are idempotent.
      if (!(error instanceof MailboxNotFoundError)) throw error;
    }
    const deleted = (await this.mailboxes.deleteMetadata(name, at)) !== null;
    // A mailbox registered again meanwhile (after `at`) keeps its place in the indexes.
    if (deleted || (await this.mailboxes.find(name)) === null) await this.mailboxes.unlist(name);
    await this.mailboxes.announceDeletion(name);
    await this.announce(name, MailboxChangeKind.DELETED);
    return deleted;
  }

  /**
   * Tells `mailboxChanges` subscribers on every instance. Best effort, like any pub/sub: a
   * change made while Redis is away is not told (the console also rereads its page).
   */
  async announce(name: string, kind: MailboxChangeKind): Promise<void> {
    try {
      await this.mailboxes.announceChange(JSON.stringify({ name, kind, at: this.clock.now() }));
    } catch (error) {
      this.logger.warn(
        `mailbox change ${kind} of ${name} not announced: ${(error as Error).message}`,
      );
    }
  }

  /** Every mailbox change from now on, on whichever instance it was made. */
  async changes(): Promise<AsyncIterableIterator<MailboxChange>> {
    let unsubscribe: () => Promise<void> = () => Promise.resolve();
    const iterator = new PushIterator<MailboxChange>(() => unsubscribe());
    unsubscribe = await this.pubsub.subscribe(this.mailboxes.changesChannel(), (payload) => {
      const change = readMailboxChange(payload);
      if (change) iterator.push(change);
    });
    if (iterator.closed) await unsubscribe();
    return iterator;
  }

  /**
   * The feed, ended (completed) when the mailbox is deleted, on whichever instance the
   * deletion was made.
   */
  endWhenDeleted<T>(name: string, feed: AsyncIterableIterator<T>): AsyncIterableIterator<T> {
    const ends = this.feedEnds.get(name) ?? new Set<() => void>();
    this.feedEnds.set(name, ends);
    const end = (): void => {
      void feed.return?.();
    };
    ends.add(end);
    const forget = (): void => {
      ends.delete(end);
      if (ends.size === 0 && this.feedEnds.get(name) === ends) this.feedEnds.delete(name);
    };
    return {
      next: async () => {
        const step = await feed.next();
        if (step.done) forget();
        return step;
      },
      return: async (value?: unknown) => {
        forget();
        return feed.return ? feed.return(value) : { done: true, value: undefined };
      },
      throw: async (error?: unknown) => {
        forget();
        if (feed.throw) return feed.throw(error);
        throw error;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  private endFeeds(name: string): void {
    const ends = this.feedEnds.get(name);
    if (!ends) return;
    this.feedEnds.delete(name);
    for (const end of ends) end();
  }

  async find(nameArg: string): Promise<MailboxRecord | null> {
    return this.mailboxes.find(assertMailboxName(nameArg, 'name'));
  }

  /** The mailbox, or NOT_FOUND naming `field`. */
  async get(nameArg: string, field = 'name'): Promise<MailboxRecord> {
    const name = assertMailboxName(nameArg, field);
    const mailbox = await this.mailboxes.find(name);
    if (!mailbox) throw new MailboxNotFoundError(name, field);
    return mailbox;
  }

  async list(): Promise<MailboxRecord[]> {
    return this.mailboxes.findMany(await this.mailboxes.allNames());
  }

  async messages(
    name: string,
    first: number,
    after: string | null | undefined,
  ): Promise<MessagePage> {
    return this.messageReader.page(this.mailboxes.messagesKey(name), first, after);
  }
}
