import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfigService } from '../config/app-config.service';
import { JobRunner } from '../scheduling/job-runner.service';
import { RequestDeadlineService } from './request-deadline.service';

/**
 * The request-deadline sweep. It runs as often as the retry loop
 * (ROUTER_RETRY_CHECK_INTERVAL): a requester learns of a timeout at most that long after the
 * deadline, as a sender learns of a failed delivery.
 */
@Injectable()
export class RequestDeadlineCron implements OnApplicationBootstrap {
  constructor(
    private readonly jobs: JobRunner,
    private readonly config: AppConfigService,
    private readonly deadlines: RequestDeadlineService,
  ) {}

  onApplicationBootstrap(): void {
    this.jobs.every('request-deadlines', this.config.retry.checkIntervalMs, (stopping, progress) =>
      this.deadlines.processDue(undefined, stopping, progress),
    );
  }
}
