import { Module } from '@nestjs/common';
import { MailboxStoreModule } from '../mailboxes/mailbox-store.module';
import { MessagesModule } from '../messages/messages.module';
import { StoreModule } from '../store/store.module';
import { DeliveryConfirmationRepository } from './delivery-confirmation.repository';
import { DeliveryNoticeService } from './delivery-notice.service';
import { DeliveryResolver } from './delivery.resolver';
import { MailboxDeliveriesResolver } from './mailbox-deliveries.resolver';
import { DeliveryService } from './delivery.service';

@Module({
  imports: [MessagesModule, MailboxStoreModule, StoreModule],
  providers: [
    DeliveryConfirmationRepository,
    DeliveryNoticeService,
    DeliveryService,
    DeliveryResolver,
    MailboxDeliveriesResolver,
  ],
  exports: [DeliveryService, DeliveryConfirmationRepository, DeliveryNoticeService],
})
export class DeliveryModule {}
