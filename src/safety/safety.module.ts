import { Module } from '@nestjs/common';
import { MailboxesModule } from '../mailboxes/mailboxes.module';
import { SafetyRepository } from './safety.repository';
import { SafetyResolver, ThreadBudgetResolver } from './safety.resolver';
import { SafetyService } from './safety.service';
import { TokenEstimateResolver } from './token-estimate.resolver';

/** The guards every send passes, and their controls. */
@Module({
  imports: [MailboxesModule],
  providers: [
    SafetyRepository,
    SafetyService,
    SafetyResolver,
    ThreadBudgetResolver,
    TokenEstimateResolver,
  ],
  exports: [SafetyService, SafetyRepository],
})
export class SafetyModule {}
