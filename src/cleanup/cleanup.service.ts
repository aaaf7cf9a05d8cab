import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Clock } from '../common/clock';
import { DeliveryConfirmationRepository } from '../delivery/delivery-confirmation.repository';
import { DeliveryStatus } from '../delivery/delivery-confirmation.model';
import { DeliveryService } from '../delivery/delivery.service';
import { MailboxRepository } from '../mailboxes/mailbox.repository';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import { CleanupRepository, type ExpiredEntry } from './cleanup.repository';
import { RetentionService } from './retention.service';
import { TopicRetentionService } from './topic-retention.service';

const BATCH = 200;
/**
 * Each phase of a run stops after this long and leaves the rest for the next run, so Redis is
 * never held up.
 */
const RUN_BUDGET_MS = 2_000;
/** After a deletion is announced: how often, and how far apart, to try for the lock. */
const DELETION_TRIES = 20;
const DELETION_RETRY_MS = 500;

/** What one run of the cleanup loop removed. */
export interface CleanupReport {
  /** Expired messages removed from every index. */
  expired: number;
  /** Entries of deleted mailboxes removed. */
  deleted: number;
  /** Entries removed by the retention limits. */
  trimmed: number;
  /** Messages removed from topic histories by TOPIC_MAX_MESSAGES. */
  trimmedFromTopics: number;
}

/**
 * The cleanup loop, one instance at a time (a lock that lapses by itself), in four phases of
 * bounded batches, each with its own time budget:
 *
 * 1. Expired messages leave every index, with their confirmations, pending entries and dead
 *    letters. Pending deliveries of an expired message turn EXPIRED and their senders are
 *    told. Finished confirmations need no sweep: the scripts give them a Redis expiry of
 *    ROUTER_CONFIRMATION_TTL when their last recipient finishes.
 * 2. Deleted mailboxes lose their entries (RetentionService.purgeDeletions).
 * 3. Every mailbox is trimmed to MAILBOX_MAX_MESSAGES and MAILBOX_MAX_AGE
 *    (RetentionService.enforceLimits), going on where the last run stopped.
 * 4. Every topic's history is trimmed to TOPIC_MAX_MESSAGES (TopicRetentionService), going
 *    on where the last run stopped.
 *
 * A deletion does not wait for the next run: when one is announced, each instance tries for
 * the lock for a few seconds, and the one that gets it removes the deleted mailbox's entries
 * at once.
 */
@Injectable()
export class CleanupService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(CleanupService.name);
  private readonly owner = randomUUID();
  private stopListening: (() => Promise<void>) | null = null;
  private purging: Promise<void> | null = null;
  private purgeAgain = false;
  private stopping = false;

  constructor(
    private readonly cleanup: CleanupRepository,
    private readonly retention: RetentionService,
    private readonly topicRetention: TopicRetentionService,
    private readonly confirmations: DeliveryConfirmationRepository,
    private readonly delivery: DeliveryService,
    private readonly mailboxes: MailboxRepository,
    private readonly pubsub: RedisPubSubService,
    private readonly clock: Clock,
  ) {}

  /**
   * Listens for mailbox deletions. Not awaited: a service started while Redis is away must
   * still start; the SUBSCRIBE completes when Redis comes, and the loop's runs cover the rest.
   */
  onModuleInit(): void {
    this.pubsub
      .subscribe(this.mailboxes.deletionChannel(), () => this.deletionAnnounced())
      .then((stop) => {
        this.stopListening = stop;
      })
      .catch((error: unknown) =>
        this.logger.warn(`mailbox deletions not followed: ${(error as Error).message}`),
      );
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await this.stopListening?.();
    await this.purging;
  }

  /**
   * One run; null when another instance holds the lock. `progress` is called after each batch
   * of expired messages and after each phase, each phase being bounded by its budget
   * (JobRunner: a long run is not a stuck one).
   */
  async run(progress: () => void = () => undefined): Promise<CleanupReport | null> {
    return this.locked(async () => {
      const report: CleanupReport = { expired: 0, deleted: 0, trimmed: 0, trimmedFromTopics: 0 };
      report.expired = await this.purgeExpired(this.clock.now() + RUN_BUDGET_MS, progress);
      progress();
      report.deleted = await this.retention.purgeDeletions(this.clock.now() + RUN_BUDGET_MS);
      progress();
      report.trimmed = await this.retention.enforceLimits(this.clock.now() + RUN_BUDGET_MS);
      progress();
      report.trimmedFromTopics = await this.topicRetention.enforceLimit(
        this.clock.now() + RUN_BUDGET_MS,
      );
      if (report.expired + report.deleted + report.trimmed + report.trimmedFromTopics > 0) {
        this.logger.debug(
          `removed ${report.expired} expired messages, ${report.deleted} entries of deleted mailboxes, ${report.trimmed} entries past the retention limits and ${report.trimmedFromTopics} messages past TOPIC_MAX_MESSAGES`,
        );
      }
      return report;
    });
  }

  /** Runs `work` under the cleanup lock; null when another instance holds it. */
  private async locked<T>(work: () => Promise<T>): Promise<T | null> {
    // A run's four steps take RUN_BUDGET_MS each at most; the lock lasts that and a margin,
    // not the interval, so that an instance that dies mid-run holds cleanup up for seconds.
    const lockMs = RUN_BUDGET_MS * 5;
    if (!(await this.cleanup.lock(this.owner, lockMs))) return null;
    try {
      return await work();
    } finally {
      // Not released: the lock lapsed during the run, so another instance may have cleaned too
      // (harmless, every step is idempotent).
      if (!(await this.cleanup.unlock(this.owner)))
        this.logger.warn('a cleanup run outlasted its lock');
    }
  }

  private async purgeExpired(deadline: number, progress: () => void): Promise<number> {
    const now = this.clock.now();
    let removed = 0;
    while (this.clock.now() < deadline) {
      const due = await this.cleanup.due(now, BATCH);
      await Promise.all(due.map((entry) => this.purge(entry)));
      removed += due.length;
      progress();
      if (due.length < BATCH) break;
    }
    return removed;
  }

  private async purge(entry: ExpiredEntry): Promise<void> {
    const record = await this.confirmations.find(entry.messageId);
    if (record) {
      for (const [mailbox, state] of record.recipients) {
        if (state.status === DeliveryStatus.PENDING) {
          await this.delivery.expire(
            entry.messageId,
            mailbox,
            record.sender,
            record.priority,
            state,
          );
        }
      }
    }
    const mailboxes = new Set(await this.cleanup.recipients(entry));
    for (const mailbox of record?.recipients.keys() ?? []) mailboxes.add(mailbox);
    await this.cleanup.purge(entry, [...mailboxes]);
  }

  /** One purge of deletions at a time per instance; an announcement meanwhile runs it again. */
  private deletionAnnounced(): void {
    if (this.stopping) return;
    if (this.purging) {
      this.purgeAgain = true;
      return;
    }
    this.purging = this.purgeAnnouncedDeletions()
      .catch((error: unknown) => {
        // The loop's next run finishes what this could not.
        this.logger.debug(`mailbox deletion not purged now: ${(error as Error).message}`);
      })
      .finally(() => {
        this.purging = null;
        if (this.purgeAgain) {
          this.purgeAgain = false;
          this.deletionAnnounced();
        }
      });
  }

  /**
   * Every instance hears a deletion; the first to take the lock removes the entries, and the
   * others find nothing left to do. The lock may be held by a run that is past its deletion
   * phase, so the lock is tried again for a few seconds while deletions are pending.
   */
  private async purgeAnnouncedDeletions(): Promise<void> {
    for (let attempt = 0; attempt < DELETION_TRIES && !this.stopping; attempt++) {
      if ((await this.mailboxes.pendingDeletions(1)).length === 0) return;
      const purged = await this.locked(() =>
        this.retention.purgeDeletions(this.clock.now() + RUN_BUDGET_MS),
      );
      if (purged !== null && (await this.mailboxes.pendingDeletions(1)).length === 0) return;
      await new Promise((resolve) => setTimeout(resolve, DELETION_RETRY_MS));
    }
  }
}
