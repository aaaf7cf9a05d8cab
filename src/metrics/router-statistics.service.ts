import { Injectable } from '@nestjs/common';
import { DeliveryConfirmationRepository } from '../delivery/delivery-confirmation.repository';
import { JobRunner } from '../scheduling/job-runner.service';
import type { RouterStatistics } from './router-statistics.model';
import { StatisticsService } from './statistics.service';

/** The seed's `get_statistics`: counters over all instances, schedule sizes, loop health. */
@Injectable()
export class RouterStatisticsService {
  constructor(
    private readonly statistics: StatisticsService,
    private readonly confirmations: DeliveryConfirmationRepository,
    private readonly jobs: JobRunner,
  ) {}

  async read(): Promise<RouterStatistics> {
    const [counters, scheduled] = await Promise.all([
      this.statistics.read(),
      this.confirmations.scheduledCount(),
    ]);
    return {
      ...counters,
      pendingDeliveries: scheduled,
      running: this.jobs.allAlive,
    };
  }
}
