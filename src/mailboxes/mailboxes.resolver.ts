import {
  Args,
  ID,
  Mutation,
  Parent,
  Query,
  ResolveField,
  Resolver,
  Subscription,
} from '@nestjs/graphql';
import { AdminOnly, CurrentPrincipal } from '../auth/auth.decorators';
import { AuthService } from '../auth/auth.service';
import { assertOwnerOrAdmin, type Principal } from '../auth/principal';
import { JsonScalar } from '../graphql/json.scalar';
import { Message } from '../messages/message.model';
import { assertMessageId } from '../messages/message-id';
import { MailboxChange } from './mailbox-change.model';
import { Mailbox, MailboxRegistration } from './mailbox.model';
import { toMailbox } from './mailbox.mapper';
import { MailboxFeedService } from './mailbox-feed.service';
import { MailboxesService } from './mailboxes.service';
import { PresenceService } from './presence.service';

@Resolver(() => Mailbox)
export class MailboxesResolver {
  constructor(
    private readonly service: MailboxesService,
    private readonly feeds: MailboxFeedService,
    private readonly presence: PresenceService,
    private readonly auth: AuthService,
  ) {}

  @Query(() => Mailbox, { nullable: true })
  async mailbox(
    @Args('name') name: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Mailbox | null> {
    assertOwnerOrAdmin(principal, name, 'name');
    const record = await this.service.find(name);
    return record && toMailbox(record);
  }

  @Query(() => Mailbox, {
    nullable: true,
    description:
      "The calling token's own mailbox; null for the admin token (and with AUTH_ENABLED=false, where every call is the admin's).",
  })
  async viewer(@CurrentPrincipal() principal: Principal): Promise<Mailbox | null> {
    if (principal.kind !== 'mailbox') return null;
    const record = await this.service.find(principal.mailbox);
    return record && toMailbox(record);
  }

  @AdminOnly()
  @Query(() => [Mailbox])
  async mailboxes(): Promise<Mailbox[]> {
    return (await this.service.list()).map(toMailbox);
  }

  @AdminOnly()
  @Mutation(() => MailboxRegistration)
  async registerMailbox(
    @Args('name') name: string,
    @Args('metadata', { type: () => JsonScalar, nullable: true }) metadata: unknown,
  ): Promise<MailboxRegistration> {
    const { mailbox, token } = await this.service.register(name, metadata);
    return { mailbox: toMailbox(mailbox), token };
  }

  @AdminOnly()
  @Mutation(() => Mailbox)
  async deactivateMailbox(@Args('name') name: string): Promise<Mailbox> {
    return toMailbox(await this.service.deactivate(name));
  }

  @AdminOnly()
  @Mutation(() => Boolean, {
    description:
      'Deletes the mailbox: its token stops working and its open sockets close, its live subscriptions end, it is listed nowhere and receives nothing; its messages, pending deliveries, dead letters and read marks are removed in the background, in batches. Messages it sent stay with their recipients. The name can be registered again once that is done. False when there was no such mailbox.',
  })
  async deleteMailbox(@Args('name') name: string): Promise<boolean> {
    return this.service.delete(name);
  }

  @Mutation(() => MailboxRegistration, {
    description:
      "A new token for the mailbox (its owner's or the admin's call); the old one stops working at once.",
  })
  async rotateMailboxToken(
    @Args('name') name: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<MailboxRegistration> {
    assertOwnerOrAdmin(principal, name, 'name');
    const token = await this.auth.rotate(name);
    return { mailbox: toMailbox(await this.service.get(name)), token };
  }

  @Mutation(() => Mailbox, {
    description:
      "Revokes the mailbox's token: it fails at once and its open subscriptions end. Rotate to get a new one.",
  })
  async revokeMailboxToken(
    @Args('name') name: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Mailbox> {
    assertOwnerOrAdmin(principal, name, 'name');
    await this.auth.revoke(name);
    return toMailbox(await this.service.get(name));
  }

  @ResolveField(() => Boolean, {
    description: 'Whether a live mailboxMessages subscription to it is open on any instance.',
  })
  async online(@Parent() mailbox: Mailbox): Promise<boolean> {
    return this.presence.online(mailbox.name);
  }

  @AdminOnly()
  @Subscription(() => MailboxChange, {
    description:
      'Mailboxes registered, deactivated, deleted, paused or resumed, on any instance, as it happens; live only (mailboxPage has the current list).',
    resolve: (change: MailboxChange) => change,
  })
  async mailboxChanges(): Promise<AsyncIterableIterator<MailboxChange>> {
    return this.service.changes();
  }

  @Subscription(() => Message, {
    description:
      'after absent: live messages only. after = a message id: every stored, unexpired message newer than it, then live, with no gap and no duplicate. after = "0": from the start.',
    resolve: (message: Message) => message,
  })
  async mailboxMessages(
    @Args('mailbox') mailbox: string,
    @Args('after', { type: () => ID, nullable: true }) after: string | null,
    @CurrentPrincipal() principal: Principal,
  ): Promise<AsyncIterableIterator<Message>> {
    assertOwnerOrAdmin(principal, mailbox, 'mailbox');
    const record = await this.service.get(mailbox, 'mailbox');
    const cursor =
      after === null || after === undefined ? null : assertMessageId(after, 'after', true);
    this.presence.seen(record.name);
    return this.service.endWhenDeleted(record.name, await this.feeds.open(record.name, cursor));
  }
}
