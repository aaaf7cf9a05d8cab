import { Global, Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { GraphqlTransportModule } from '../graphql/graphql-transport.module';
import { MailboxStoreModule } from '../mailboxes/mailbox-store.module';
import { RoutingModule } from '../routing/routing.module';
import { SafetyModule } from '../safety/safety.module';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { RouterStatisticsResolver } from './router-statistics.resolver';
import { RouterStatisticsService } from './router-statistics.service';
import { StatisticsService } from './statistics.service';

/** Counting (global, for every module that counts) and reporting: routerStatistics, /metrics. */
@Global()
@Module({
  imports: [
    DeliveryModule,
    GraphqlTransportModule,
    MailboxStoreModule,
    RoutingModule,
    SafetyModule,
  ],
  controllers: [MetricsController],
  providers: [StatisticsService, RouterStatisticsService, RouterStatisticsResolver, MetricsService],
  exports: [StatisticsService],
})
export class MetricsModule {}
