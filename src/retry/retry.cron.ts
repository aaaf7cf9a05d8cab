import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfigService } from '../config/app-config.service';
import { DeliveryService } from '../delivery/delivery.service';
import { JobRunner } from '../scheduling/job-runner.service';

/** The retry loop: every ROUTER_RETRY_CHECK_INTERVAL, due deliveries are decided. */
@Injectable()
export class RetryCron implements OnApplicationBootstrap {
  constructor(
    private readonly jobs: JobRunner,
    private readonly config: AppConfigService,
    private readonly delivery: DeliveryService,
  ) {}

  onApplicationBootstrap(): void {
    this.jobs.every('delivery-retry', this.config.retry.checkIntervalMs, (stopping, progress) =>
      this.delivery.processDue(undefined, stopping, progress),
    );
  }
}
