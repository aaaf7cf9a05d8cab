import { Int, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { AdminOnly } from '../auth/auth.decorators';
import { GraphqlWsServer } from '../graphql/graphql-ws.server';
import { RouterStatistics } from './router-statistics.model';
import { RouterStatisticsService } from './router-statistics.service';

@Resolver(() => RouterStatistics)
export class RouterStatisticsResolver {
  constructor(
    private readonly statistics: RouterStatisticsService,
    private readonly ws: GraphqlWsServer,
  ) {}

  @AdminOnly()
  @Query(() => RouterStatistics)
  async routerStatistics(): Promise<RouterStatistics> {
    return this.statistics.read();
  }

  @ResolveField(() => Int, {
    description:
      'Open graphql-ws connections on the instance that answers (the others are on /metrics of each).',
  })
  connections(): number {
    return this.ws.connections;
  }
}
