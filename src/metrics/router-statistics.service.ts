import { Injectable } from '@nestjs/common';
import { DeliveryConfirmationRepository } from '../delivery/delivery-confirmation.repository';
import { MailboxRepository } from '../mailboxes/mailbox.repository';
import { JobRunner } from '../scheduling/job-runner.service';
import type { RouterStatistics } from './router-statistics.model';
import { StatisticsService } from './statistics.service';

/**
 * The seed's `get_statistics`: counters over all instances, and gauges read from what they
 * count: deliveries awaiting confirmation from the mailboxes' pending lists, schedule sizes,
 * loop health.
 */
@Injectable()
export class RouterStatisticsService {
  constructor(
    private readonly statistics: StatisticsService,
    private readonly confirmations: DeliveryConfirmationRepository,
    private readonly mailboxes: MailboxRepository,
    private readonly jobs: JobRunner,
  ) {}

  async read(): Promise<RouterStatistics> {
    const [counters, pending, scheduled] = await Promise.all([
      this.statistics.read(),
      this.mailboxes.allNames().then((names) => this.confirmations.pendingCount(names)),
      this.confirmations.scheduledCount(),
    ]);
    return {
      ...counters,
      activeConfirmations: pending,
      pendingDeliveries: scheduled,
      running: this.jobs.allAlive,
    };
  }
}
