import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { InboxModule } from '../inbox/inbox.module';
import { MailboxesModule } from '../mailboxes/mailboxes.module';
import { SafetyRepository } from './safety.repository';
import { SafetyResolver, ThreadBudgetResolver } from './safety.resolver';
import { SafetyService } from './safety.service';

/** The guards every send passes, and their controls. */
@Module({
  imports: [DeliveryModule, MailboxesModule, InboxModule],
  providers: [SafetyRepository, SafetyService, SafetyResolver, ThreadBudgetResolver],
  exports: [SafetyService, SafetyRepository],
})
export class SafetyModule {}
