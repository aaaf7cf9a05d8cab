import { Module } from '@nestjs/common';
import { MessageRepository } from './message.repository';
import { MessagesResolver } from './messages.resolver';
import { MessagesService } from './messages.service';

@Module({
  providers: [MessageRepository, MessagesService, MessagesResolver],
  exports: [MessageRepository, MessagesService],
})
export class MessagesModule {}
