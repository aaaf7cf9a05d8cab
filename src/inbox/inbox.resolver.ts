import { Args, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/auth.decorators';
import { actingMailbox, type Principal } from '../auth/principal';
import { Mailbox } from '../mailboxes/mailbox.model';
import { MailboxesService } from '../mailboxes/mailboxes.service';
import { PresenceService } from '../mailboxes/presence.service';
import { toMailbox } from '../mailboxes/mailbox.mapper';
import type { BodyReads } from '../messages/body-reads';
import { OperationBodyReads } from '../messages/body-reads.decorators';
import { MessageConnection } from '../messages/message-connection.model';
import { toConnection } from '../messages/message-page.mapper';
import { DEFAULT_PAGE_SIZE } from '../messages/page-args';
import { InboxService, MAX_MARK_IDS } from './inbox.service';

/** A mailbox's inbox state (unread, filtered pages, read marks) and threads. */
@Resolver(() => Mailbox)
export class InboxResolver {
  constructor(
    private readonly inbox: InboxService,
    private readonly mailboxes: MailboxesService,
    private readonly presence: PresenceService,
  ) {}

  @ResolveField(() => Int, { description: 'Messages in the mailbox that it has not marked read.' })
  async unreadCount(@Parent() mailbox: Mailbox): Promise<number> {
    return this.inbox.unreadCount(mailbox.name);
  }

  @ResolveField(() => MessageConnection, {
    description:
      'Stored, unexpired messages, oldest first; only unread ones with unreadOnly, only one thread with threadId. A page looks at no more than 5,000 entries (expired ones included), and stops once its operation has read 64 MiB of bodies: it may come back short with hasNextPage true; go on from endCursor. A page that selects neither content nor tokenEstimate reads no content (its metadata still counts), or with preview has Redis send only the start of each.',
  })
  async messages(
    @Parent() mailbox: Mailbox,
    @Args('first', { type: () => Int, nullable: true, defaultValue: DEFAULT_PAGE_SIZE })
    first: number | null,
    @Args('after', { type: () => ID, nullable: true }) after: string | null,
    @Args('unreadOnly', { type: () => Boolean, nullable: true, defaultValue: false })
    unreadOnly: boolean | null,
    @Args('threadId', { type: () => String, nullable: true }) threadId: string | null,
    @OperationBodyReads('page') reads: BodyReads,
  ): Promise<MessageConnection> {
    this.presence.seen(mailbox.name);
    return toConnection(
      await this.inbox.mailboxPage(
        mailbox.name,
        first ?? DEFAULT_PAGE_SIZE,
        after ?? null,
        { unreadOnly: unreadOnly ?? false, threadId: threadId ?? null },
        reads,
      ),
    );
  }

  @Mutation(() => Mailbox, {
    description: `Marks messages of the mailbox read: the ids named (at most ${MAX_MARK_IDS}) and, with upTo, every message up to and including that id. Ids not in the mailbox are ignored. A mailbox token may leave out mailbox.`,
  })
  async markRead(
    @Args('mailbox', { type: () => String, nullable: true }) mailboxArg: string | null,
    @Args('messageIds', { type: () => [ID], nullable: true }) messageIds: string[] | null,
    @Args('upTo', { type: () => ID, nullable: true }) upTo: string | null,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Mailbox> {
    const name = actingMailbox(principal, mailboxArg, 'mailbox');
    const record = await this.mailboxes.get(name, 'mailbox');
    await this.inbox.markRead(record.name, messageIds ?? null, upTo ?? null);
    return toMailbox(record);
  }

  @Query(() => MessageConnection, {
    description:
      'A conversation, oldest first: the messages of the thread that the caller sent or received (the admin sees all). A page stops once its operation has read 64 MiB of bodies (hasNextPage true: go on from endCursor). A page that selects neither content nor tokenEstimate reads no content (its metadata still counts), or with preview has Redis send only the start of each.',
  })
  async thread(
    @Args('id') id: string,
    @Args('first', { type: () => Int, nullable: true, defaultValue: DEFAULT_PAGE_SIZE })
    first: number | null,
    @Args('after', { type: () => ID, nullable: true }) after: string | null,
    @CurrentPrincipal() principal: Principal,
    @OperationBodyReads('page') reads: BodyReads,
  ): Promise<MessageConnection> {
    return toConnection(
      await this.inbox.thread(id, first ?? DEFAULT_PAGE_SIZE, after ?? null, principal, reads),
    );
  }
}
