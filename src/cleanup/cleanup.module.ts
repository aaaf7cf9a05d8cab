import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { CleanupCron } from './cleanup.cron';
import { CleanupRepository } from './cleanup.repository';
import { CleanupService } from './cleanup.service';

@Module({
  imports: [DeliveryModule],
  providers: [CleanupRepository, CleanupService, CleanupCron],
  exports: [CleanupRepository],
})
export class CleanupModule {}
