import { Injectable, Logger } from '@nestjs/common';
import { AuthService } from '../auth/auth.service';
import { Clock } from '../common/clock';
import { SafetyRepository } from '../safety/safety.repository';
import { SearchRepository } from '../search/search.repository';
import { AppConfigService } from '../config/app-config.service';
import { DeliveryStatus } from '../delivery/delivery-confirmation.model';
import { DeliveryConfirmationRepository } from '../delivery/delivery-confirmation.repository';
import { DeliveryNoticeService } from '../delivery/delivery-notice.service';
import { MailboxChangeKind } from '../mailboxes/mailbox-change.model';
import { MailboxRepository } from '../mailboxes/mailbox.repository';
import {
  deliveryReason,
  fateOf,
  removalOf,
  type RetentionLimits,
  type Removal,
} from './retention-policy';
import { RetentionRepository, type Candidates } from './retention.repository';

/** Entries one step takes out of one mailbox: a bound on every script and on the reads around it. */
const BATCH = 200;
/** Mailboxes a pass works on at once. */
const CHUNK = 20;
/** Deletions a run looks at. */
const DELETIONS_PER_RUN = 100;
/**
 * How long a deletion whose mailbox is still there is left to the call that recorded it
 * before the cleanup loop finishes it: that call failed (Redis away) or its process died.
 */
export const UNFINISHED_DELETION_MS = 30_000;

/**
 * Retention: each mailbox keeps its newest MAILBOX_MAX_MESSAGES entries for at most
 * MAILBOX_MAX_AGE, and a deleted mailbox's entries go. Both work in bounded batches per
 * mailbox (see RetentionRepository for the steps) and stop at the caller's deadline, so that
 * a huge mailbox neither blocks Redis nor the loop; the next run goes on where this one
 * stopped.
 *
 * What leaves with an entry: the mailbox's pending delivery of it turns EXPIRED (its sender is
 * told, as when a message expires), its dead letter and read mark go, and the message hash
 * goes when nothing else holds it (see fateOf).
 */
@Injectable()
export class RetentionService {
  private readonly logger = new Logger(RetentionService.name);

  constructor(
    private readonly config: AppConfigService,
    private readonly repository: RetentionRepository,
    private readonly mailboxes: MailboxRepository,
    private readonly confirmations: DeliveryConfirmationRepository,
    private readonly notices: DeliveryNoticeService,
    private readonly search: SearchRepository,
    private readonly safety: SafetyRepository,
    private readonly auth: AuthService,
    private readonly clock: Clock,
  ) {}

  private get limits(): RetentionLimits {
    const { maxMessages, maxAgeMs } = this.config.retention;
    return { maxMessages, maxAgeMs };
  }

  /**
   * Removes the entries of deleted mailboxes, oldest deletion first, until they are gone or
   * the deadline passes; a deletion whose entries are all gone is forgotten, which lets its
   * name be registered again. Returns how many entries it removed.
   */
  async purgeDeletions(deadline: number): Promise<number> {
    let removed = 0;
    for (const { name, at } of await this.mailboxes.pendingDeletions(DELETIONS_PER_RUN)) {
      if (!(await this.deletionDone(name, at))) continue;
      for (;;) {
        if (this.clock.now() >= deadline) return removed;
        const batch = await this.repository.toDelete(name, at, BATCH);
        if (batch.entries.length === 0) {
          if ((await this.search.dropIndex(name, BATCH)) > 0) continue;
          if ((await this.repository.forgetIdempotencyKeys(name, BATCH)) > 0) continue;
          await this.safety.forgetMailbox(name, this.clock.now());
          await this.finishDeletion(name, at);
          break;
        }
        removed += await this.remove(name, batch, () => 'deleted');
      }
    }
    return removed;
  }

  /**
   * A pass over every registered mailbox, from where the last run stopped, trimming each to
   * the retention limits, until the deadline; the next run goes on from there. It also adds
   * mailboxes that the seen index does not hold yet (registered before it existed), so that
   * BROADCAST_ACTIVE_WITHIN can judge them. Returns how many entries it removed.
   */
  async enforceLimits(deadline: number): Promise<number> {
    const { maxMessages, maxAgeMs, broadcastActiveWithinMs } = this.config.retention;
    if (maxMessages === 0 && maxAgeMs === 0 && broadcastActiveWithinMs === 0) return 0;
    const total = await this.repository.mailboxCount();
    if (total === 0) return 0;
    let rank = await this.repository.cursor();
    if (rank >= total) rank = 0;
    let visited = 0;
    let removed = 0;
    while (visited < total && this.clock.now() < deadline) {
      const names = await this.repository.mailboxNames(rank, Math.min(CHUNK, total - visited));
      if (names.length === 0) {
        // Mailboxes were deleted since the count: the end of the index came early.
        rank = 0;
        if (visited === 0) break;
        continue;
      }
      const results = await Promise.all(names.map((name) => this.trimMailbox(name, deadline)));
      await this.mailboxes.addMissingSightings(
        results.flatMap((result, index) =>
          result.seenAt === null ? [] : [{ name: names[index], at: result.seenAt }],
        ),
      );
      for (const result of results) removed += result.removed;
      const unfinished = results.findIndex((result) => !result.finished);
      if (unfinished >= 0) {
        // Out of time inside this mailbox: the next run starts with it.
        rank += unfinished;
        break;
      }
      rank += names.length;
      visited += names.length;
      if (rank >= total) rank = 0;
    }
    await this.repository.saveCursor(rank);
    return removed;
  }

  /** Trims one mailbox batch by batch; `finished` is false when the deadline cut it short. */
  private async trimMailbox(
    name: string,
    deadline: number,
  ): Promise<{ removed: number; finished: boolean; seenAt: number | null }> {
    const { maxMessages, maxAgeMs } = this.limits;
    let removed = 0;
    let seenAt: number | null = null;
    for (;;) {
      const lowestScoreKept = maxAgeMs > 0 ? this.clock.now() - maxAgeMs : null;
      const batch = await this.repository.toTrim(name, maxMessages, lowestScoreKept, BATCH);
      seenAt ??= batch.seenAt;
      if (batch.entries.length > 0) {
        removed += await this.remove(name, batch, (score) =>
          removalOf(score, lowestScoreKept, false),
        );
      }
      if (batch.entries.length < BATCH) return { removed, finished: true, seenAt };
      if (this.clock.now() >= deadline) return { removed, finished: false, seenAt };
    }
  }

  /**
   * Takes one batch out of a mailbox: first what lives under other hash tags (deliveries,
   * the index of all dead letters, message hashes), then the entries themselves, so that a
   * crash in between leaves the entries for the next run to take again.
   */
  private async remove(
    mailbox: string,
    batch: Candidates,
    why: (score: number) => Removal,
  ): Promise<number> {
    const limits = this.limits;
    const ids = batch.entries.map((entry) => entry.id);
    const removals = new Map(batch.entries.map((entry) => [entry.id, why(entry.score)]));
    const heads = await this.repository.heads(ids);
    await Promise.all(
      batch.pending.map((id) =>
        this.settleDelivery(id, mailbox, deliveryReason(removals.get(id) ?? 'count', limits)),
      ),
    );
    await this.repository.forgetDeadLetters(mailbox, batch.deadLettered);
    await Promise.all(
      batch.entries.map(async ({ id }, index) => {
        const head = heads[index];
        const fate = fateOf(head, mailbox, removals.get(id) ?? 'count', limits);
        if (fate.kind === 'delete' && head) await this.repository.deleteMessage(id, head);
        else if (fate.kind === 'expireAt' && head)
          await this.repository.expireMessageAt(id, head, fate.at);
      }),
    );
    return this.repository.trim(mailbox, ids);
  }

  /**
   * A delivery still PENDING for a message that leaves the recipient's mailbox can never be
   * confirmed: it turns EXPIRED with the reason, and its sender is told, as when the message
   * expires. Repeated after a crash, it finds the delivery settled and tells nobody twice.
   */
  private async settleDelivery(messageId: string, mailbox: string, reason: string): Promise<void> {
    const record = await this.confirmations.find(messageId);
    const state = record?.recipients.get(mailbox);
    if (!record || !state || state.status !== DeliveryStatus.PENDING) return;
    const expired = await this.confirmations.expire(
      messageId,
      mailbox,
      record.priority,
      reason,
      Math.round(this.config.cleanup.confirmationTtlSeconds * 1000),
      this.clock.now(),
    );
    if (!expired) return;
    try {
      await this.notices.tell(record.sender, {
        type: 'delivery.expired',
        messageId,
        recipient: mailbox,
        reason,
        attempts: state.n,
      });
    } catch (error) {
      this.logger.warn(
        `notice of ${messageId} to ${mailbox} not sent to ${record.sender}: ${(error as Error).message}`,
      );
    }
  }

  /**
   * Whether the mailbox of a recorded deletion is gone (or registered again since), so that
   * its entries may go. One still there is the deletion's own call's to finish, until
   * UNFINISHED_DELETION_MS has passed: then that call stopped before the mailbox and its
   * token went, and this finishes it as the call would have (the token's sockets close, the
   * mailbox's feeds end) before any entry goes.
   */
  private async deletionDone(name: string, at: number): Promise<boolean> {
    const mailbox = await this.mailboxes.find(name);
    if (mailbox === null || mailbox.createdAt > at) return true;
    if (this.clock.now() - at < UNFINISHED_DELETION_MS) return false;
    const digest = await this.mailboxes.deleteMetadata(name, at);
    if (digest === null) return true;
    this.logger.warn(`the deletion of mailbox ${name} was left unfinished; finished now`);
    if (digest !== '') await this.auth.revokedDigest(digest);
    await this.mailboxes.unlist(name);
    await this.mailboxes.announceDeletion(name);
    await this.mailboxes.announceChange(
      JSON.stringify({ name, kind: MailboxChangeKind.DELETED, at: this.clock.now() }),
    );
    return true;
  }

  /**
   * Forgets a deletion whose entries are gone. When no mailbox of the name exists, it also
   * takes the name out of the indexes again, in case a sighting recorded just as the mailbox
   * was deleted put it back in the seen index.
   */
  private async finishDeletion(name: string, at: number): Promise<void> {
    if ((await this.mailboxes.find(name)) === null) await this.mailboxes.unlist(name);
    await this.mailboxes.finishDeletion(name, at);
  }
}
