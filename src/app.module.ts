import { Module, type DynamicModule } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { CleanupModule } from './cleanup/cleanup.module';
import { ClockModule } from './common/clock.module';
import { ConsoleModule } from './console/console.module';
import { ConversationsModule } from './conversations/conversations.module';
import { DeliveryModule } from './delivery/delivery.module';
import { MetricsModule } from './metrics/metrics.module';
import { RetryModule } from './retry/retry.module';
import { SchedulingModule } from './scheduling/scheduling.module';
import { AppConfigModule } from './config/app-config.module';
import { GraphqlTransportModule } from './graphql/graphql-transport.module';
import { HealthModule } from './health/health.module';
import { InboxModule } from './inbox/inbox.module';
import { LoggingModule } from './logging/logging.module';
import { MailboxesModule } from './mailboxes/mailboxes.module';
import { McpModule } from './mcp/mcp.module';
import { MessagesModule } from './messages/messages.module';
import { ProvenanceModule } from './provenance/provenance.module';
import { RedisModule } from './redis/redis.module';
import { RoutingModule } from './routing/routing.module';
import { SearchModule } from './search/search.module';
import { TopicsModule } from './topics/topics.module';

@Module({})
export class AppModule {
  /** `environment` overrides the process environment (tests run several apps side by side). */
  static forRoot(environment: Record<string, string | undefined> = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(environment),
        ClockModule,
        LoggingModule,
        RedisModule,
        GraphqlTransportModule,
        AuthModule,
        MessagesModule,
        ProvenanceModule,
        InboxModule,
        MailboxesModule,
        TopicsModule,
        RoutingModule,
        SchedulingModule,
        MetricsModule,
        DeliveryModule,
        SearchModule,
        McpModule,
        ConsoleModule,
        RetryModule,
        ConversationsModule,
        CleanupModule,
        HealthModule,
      ],
    };
  }
}
