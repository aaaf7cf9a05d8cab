import { Module, type DynamicModule } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { AppConfigModule } from './config/app-config.module';
import { GraphqlTransportModule } from './graphql/graphql-transport.module';
import { HealthModule } from './health/health.module';
import { MailboxesModule } from './mailboxes/mailboxes.module';
import { MessagesModule } from './messages/messages.module';
import { RedisModule } from './redis/redis.module';
import { RoutingModule } from './routing/routing.module';
import { TopicsModule } from './topics/topics.module';

@Module({})
export class AppModule {
  /** `environment` overrides the process environment (tests run several apps side by side). */
  static forRoot(environment: Record<string, string | undefined> = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(environment),
        RedisModule,
        GraphqlTransportModule,
        AuthModule,
        MessagesModule,
        MailboxesModule,
        TopicsModule,
        RoutingModule,
        HealthModule,
      ],
    };
  }
}
