import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { JobRunner } from '../scheduling/job-runner.service';

/** The retry and cleanup loops are registered and none is stuck. */
@Injectable()
export class JobsHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly jobs: JobRunner,
  ) {}

  check(): HealthIndicatorResult<'jobs'> {
    const indicator = this.indicators.check('jobs');
    const reports = this.jobs.reports();
    const data = Object.fromEntries(
      reports.map((report) => [report.name, { alive: report.alive, runs: report.runs }]),
    );
    return this.jobs.allAlive ? indicator.up(data) : indicator.down(data);
  }
}
