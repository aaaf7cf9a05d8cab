import { Args, Int, Query, Resolver } from '@nestjs/graphql';
import { AdminOnly } from '../auth/auth.decorators';
import { toMailbox } from '../mailboxes/mailbox.mapper';
import { MailboxOrder, MailboxPage, MailboxState } from './mailbox-page.model';
import { MailboxPageService } from './mailbox-page.service';

@Resolver(() => MailboxPage)
export class MailboxPageResolver {
  constructor(private readonly pages: MailboxPageService) {}

  @AdminOnly()
  @Query(() => MailboxPage, {
    description:
      'A page of the mailboxes for a table: those whose name holds `filter` (any case) and in `state`, sorted by `orderBy` (ties by name), from `offset`; first at most 200.',
  })
  async mailboxPage(
    @Args('filter', { type: () => String, nullable: true }) filter: string | null,
    @Args('state', { type: () => MailboxState, nullable: true }) state: MailboxState | null,
    @Args('orderBy', { type: () => MailboxOrder, defaultValue: MailboxOrder.NAME })
    orderBy: MailboxOrder,
    @Args('descending', { defaultValue: false }) descending: boolean,
    @Args('offset', { type: () => Int, defaultValue: 0 }) offset: number,
    @Args('first', { type: () => Int, defaultValue: 50 }) first: number,
  ): Promise<MailboxPage> {
    const { total, records } = await this.pages.page({
      filter: filter ?? null,
      state: state ?? null,
      orderBy,
      descending,
      offset,
      first,
    });
    return { total, offset, mailboxes: records.map(toMailbox) };
  }
}
