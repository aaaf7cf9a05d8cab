import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { DeliveryModule } from '../delivery/delivery.module';
import { MailboxStoreModule } from '../mailboxes/mailbox-store.module';
import { SafetyModule } from '../safety/safety.module';
import { SearchModule } from '../search/search.module';
import { TopicsModule } from '../topics/topics.module';
import { CleanupCron } from './cleanup.cron';
import { CleanupRepository } from './cleanup.repository';
import { CleanupService } from './cleanup.service';
import { RetentionRepository } from './retention.repository';
import { RetentionService } from './retention.service';
import { TopicRetentionService } from './topic-retention.service';

@Module({
  imports: [
    AuthModule,
    DeliveryModule,
    MailboxStoreModule,
    SafetyModule,
    SearchModule,
    TopicsModule,
  ],
  providers: [
    CleanupRepository,
    CleanupService,
    CleanupCron,
    RetentionRepository,
    RetentionService,
    TopicRetentionService,
  ],
  exports: [CleanupRepository],
})
export class CleanupModule {}
