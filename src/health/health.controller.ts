import { Controller, Get, Headers, ServiceUnavailableException } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorService,
  type HealthCheckResult,
  type HealthIndicatorResult,
} from '@nestjs/terminus';
import { LifecycleService } from './lifecycle.service';
import { Public } from '../auth/auth.decorators';
import { AuthService } from '../auth/auth.service';
import { JobsHealthIndicator } from './jobs.health';
import { RedisHealthIndicator } from './redis.health';

/** Each indicator of a section with its status alone. */
function statusesOf(section: Partial<HealthIndicatorResult> | undefined): HealthIndicatorResult {
  const statuses: HealthIndicatorResult = {};
  for (const [key, value] of Object.entries(section ?? {})) {
    if (value) statuses[key] = { status: value.status };
  }
  return statuses;
}

/** A probe's answer without the details only the operator sees (Redis's addresses and replies). */
function statusOnly(result: HealthCheckResult): HealthCheckResult {
  return {
    status: result.status,
    info: statusesOf(result.info),
    error: statusesOf(result.error),
    details: statusesOf(result.details),
  };
}

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
    private readonly auth: AuthService,
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
   * RedisHealthIndicator.commands. Each indicator's details (Redis's nodes and replies, the
   * local queue, the loops) go to the admin token alone, or to anyone with authentication
   * off; anyone else sees each indicator's status.
   */
  @Get('ready')
  @HealthCheck()
  async ready(@Headers('authorization') authorization?: string): Promise<HealthCheckResult> {
    if (this.auth.presentsAdmin(authorization)) return this.readiness();
    try {
      return statusOnly(await this.readiness());
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      throw new ServiceUnavailableException(statusOnly(error.getResponse() as HealthCheckResult));
    }
  }

  private readiness(): Promise<HealthCheckResult> {
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
