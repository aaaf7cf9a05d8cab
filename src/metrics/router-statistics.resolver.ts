import { Query, Resolver } from '@nestjs/graphql';
import { AdminOnly } from '../auth/auth.decorators';
import { RouterStatistics } from './router-statistics.model';
import { RouterStatisticsService } from './router-statistics.service';

@Resolver(() => RouterStatistics)
export class RouterStatisticsResolver {
  constructor(private readonly statistics: RouterStatisticsService) {}

  @AdminOnly()
  @Query(() => RouterStatistics)
  async routerStatistics(): Promise<RouterStatistics> {
    return this.statistics.read();
  }
}
