import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { RetryCron } from './retry.cron';

@Module({ imports: [DeliveryModule], providers: [RetryCron] })
export class RetryModule {}
