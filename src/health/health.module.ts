import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { AuthModule } from '../auth/auth.module';
import { RoutingModule } from '../routing/routing.module';
import { JobsHealthIndicator } from './jobs.health';
import { LifecycleService } from './lifecycle.service';
import { RedisHealthIndicator } from './redis.health';

@Module({
  imports: [TerminusModule.forRoot({ logger: false }), AuthModule, RoutingModule],
  controllers: [HealthController],
  providers: [RedisHealthIndicator, JobsHealthIndicator, LifecycleService],
  exports: [LifecycleService],
})
export class HealthModule {}
