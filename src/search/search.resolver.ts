import { Args, ID, Int, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import type { BodyReads } from '../messages/body-reads';
import { OperationBodyReads } from '../messages/body-reads.decorators';
import { MessageConnection } from '../messages/message-connection.model';
import { toConnection } from '../messages/message-page.mapper';
import { DEFAULT_SEARCH_PAGE } from './search-query';
import { SearchService } from './search.service';

@Resolver()
export class SearchResolver {
  constructor(private readonly search: SearchService) {}

  @Query(() => MessageConnection, {
    description:
      "Messages of one mailbox whose subject or content holds every word of `query`, newest first. A mailbox token searches its own mailbox; the admin names one. `after`: a page's endCursor, for older results. A page can be short with hasNextPage true when a search of rare words stopped at its budget, or once its operation has read 64 MiB of bodies: follow endCursor. A page that selects neither content nor tokenEstimate reads no content (its metadata still counts), or with preview has Redis send only the start of each.",
  })
  async searchMessages(
    @Args('query') query: string,
    @Args('mailbox', { type: () => String, nullable: true }) mailbox: string | null,
    @Args('threadId', { type: () => String, nullable: true }) threadId: string | null,
    @Args('first', { type: () => Int, nullable: true, defaultValue: DEFAULT_SEARCH_PAGE })
    first: number | null,
    @Args('after', { type: () => ID, nullable: true }) after: string | null,
    @CurrentPrincipal() principal: Principal,
    @OperationBodyReads('page') reads: BodyReads,
  ): Promise<MessageConnection> {
    return toConnection(
      await this.search.search(principal, { query, mailbox, threadId, first, after }, reads),
    );
  }
}
