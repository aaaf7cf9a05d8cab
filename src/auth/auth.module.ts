import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { MailboxStoreModule } from '../mailboxes/mailbox-store.module';
import { AuthGuard } from './auth.guard';
import { AuthRepository } from './auth.repository';
import { AuthService } from './auth.service';

@Module({
  imports: [MailboxStoreModule],
  providers: [AuthRepository, AuthService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [AuthService],
})
export class AuthModule {}
