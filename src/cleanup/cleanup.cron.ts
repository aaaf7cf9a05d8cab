import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfigService } from '../config/app-config.service';
import { JobRunner } from '../scheduling/job-runner.service';
import { CleanupService } from './cleanup.service';

/**
 * The cleanup loop: every ROUTER_CLEANUP_INTERVAL, expired messages are removed, deleted
 * mailboxes emptied and every mailbox trimmed to its retention limits (CleanupService).
 */
@Injectable()
export class CleanupCron implements OnApplicationBootstrap {
  constructor(
    private readonly jobs: JobRunner,
    private readonly config: AppConfigService,
    private readonly cleanup: CleanupService,
  ) {}

  onApplicationBootstrap(): void {
    this.jobs.every('cleanup', this.config.cleanup.intervalMs, (_stopping, progress) =>
      this.cleanup.run(progress),
    );
  }
}
