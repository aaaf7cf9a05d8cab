import { Module } from '@nestjs/common';
import { MailboxStoreModule } from '../mailboxes/mailbox-store.module';
import { MessagesModule } from '../messages/messages.module';
import { StoreModule } from '../store/store.module';
import { SearchRepository } from './search.repository';
import { SearchResolver } from './search.resolver';
import { SearchService } from './search.service';

/** searchMessages, and the per-mailbox index it reads, written as sends reach mailboxes. */
@Module({
  imports: [MailboxStoreModule, MessagesModule, StoreModule],
  providers: [SearchRepository, SearchService, SearchResolver],
  exports: [SearchRepository, SearchService],
})
export class SearchModule {}
