import { Controller, Get } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
} from '@nestjs/terminus';
import { LifecycleService } from './lifecycle.service';
import { Public } from '../auth/auth.decorators';
import { JobsHealthIndicator } from './jobs.health';
import { RedisHealthIndicator } from './redis.health';

/** Probes answer without a token: Kubernetes sends none. */
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly redis: RedisHealthIndicator,
    private readonly jobs: JobsHealthIndicator,
    private readonly lifecycle: LifecycleService,
    private readonly indicators: HealthIndicatorService,
  ) {}

  /** 200 while the process can serve. Never depends on Redis: a Redis outage must not restart pods. */
  @Get('live')
  @HealthCheck()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  /**
   * 200 when the process is not shutting down, Redis answers (circuit closed), the pub/sub
   * connection is up and the loops run; 503 otherwise. A Redis that answers but refuses
   * writes (out of memory) keeps it 200, with `writable: false` in the `redis` entry: see
   * RedisHealthIndicator.commands.
   */
  @Get('ready')
  @HealthCheck()
  ready(): Promise<HealthCheckResult> {
    return this.health.check([
      () => {
        const indicator = this.indicators.check('lifecycle');
        return this.lifecycle.stopping
          ? indicator.down({ state: 'stopping' })
          : indicator.up({ state: 'serving' });
      },
      () => this.redis.commands(),
      () => this.redis.circuit(),
      () => this.redis.subscriber(),
      () => this.jobs.check(),
    ]);
  }
}
