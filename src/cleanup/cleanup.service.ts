import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfigService } from '../config/app-config.service';
import { DeliveryConfirmationRepository } from '../delivery/delivery-confirmation.repository';
import { DeliveryStatus } from '../delivery/delivery-confirmation.model';
import { DeliveryService } from '../delivery/delivery.service';
import { CleanupRepository, type ExpiredEntry } from './cleanup.repository';

const BATCH = 200;
/** A run stops after this long and leaves the rest for the next, so Redis is never held up. */
const RUN_BUDGET_MS = 2_000;

/**
 * The cleanup loop: expired messages leave every index, with their confirmations, pending
 * entries and dead letters, in bounded batches. Pending deliveries of an expired message turn
 * EXPIRED and their senders are told. Finished confirmations need no sweep: the scripts give
 * them a Redis expiry of ROUTER_CONFIRMATION_TTL when their last recipient finishes.
 */
@Injectable()
export class CleanupService {
  private readonly logger = new Logger(CleanupService.name);
  private readonly owner = randomUUID();

  constructor(
    private readonly config: AppConfigService,
    private readonly cleanup: CleanupRepository,
    private readonly confirmations: DeliveryConfirmationRepository,
    private readonly delivery: DeliveryService,
    private readonly clock: Clock,
  ) {}

  /** One run; returns how many expired messages were removed. */
  async run(): Promise<number> {
    const now = this.clock.now();
    const lockMs = Math.max(this.config.cleanup.intervalMs, RUN_BUDGET_MS * 5);
    if (!(await this.cleanup.lock(this.owner, lockMs))) return 0;
    const deadline = this.clock.now() + RUN_BUDGET_MS;
    let removed = 0;
    try {
      while (this.clock.now() < deadline) {
        const due = await this.cleanup.due(now, BATCH);
        await Promise.all(due.map((entry) => this.purge(entry)));
        removed += due.length;
        if (due.length < BATCH) break;
      }
    } finally {
      // Not released: the lock lapsed during the run, so another instance may have cleaned too
      // (harmless, purges are idempotent); a longer ROUTER_CLEANUP_INTERVAL gives runs more room.
      if (!(await this.cleanup.unlock(this.owner)))
        this.logger.warn('a cleanup run outlasted its lock');
    }
    if (removed > 0) this.logger.debug(`removed ${removed} expired messages`);
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
}
