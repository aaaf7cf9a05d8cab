import { Args, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { AdminOnly, CurrentPrincipal } from '../auth/auth.decorators';
import { actingMailbox, ForbiddenError, type Principal } from '../auth/principal';
import { Clock } from '../common/clock';
import { checkThreadId, InboxService } from '../inbox/inbox.service';
import { ownBodyReads } from '../messages/body-reads';
import { toMailbox } from '../mailboxes/mailbox.mapper';
import { Mailbox } from '../mailboxes/mailbox.model';
import { MailboxChangeKind } from '../mailboxes/mailbox-change.model';
import { MailboxesService } from '../mailboxes/mailboxes.service';
import { MailboxNotFoundError } from '../mailboxes/mailbox.errors';
import { InvalidFieldError } from '../messages/message.errors';
import { ACCEPT_ANYONE, checkPolicy } from './contact-policy';
import { SafetyRepository } from './safety.repository';
import { RecipientTokens, ThreadBudget } from './thread-budget.model';

/** Budgets are counted in int32 GraphQL integers. */
const MAX_BUDGET = 2_000_000_000;

function checkBudget(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_BUDGET) {
    throw new InvalidFieldError(field, `must be 0 (none) to ${MAX_BUDGET}`, MAX_BUDGET);
  }
  return value;
}

/**
 * The operator's and the owners' controls of the guards: pause and resume, contact policies,
 * budgets; and what a mailbox and a thread show of them.
 */
@Resolver(() => Mailbox)
export class SafetyResolver {
  constructor(
    private readonly repository: SafetyRepository,
    private readonly mailboxes: MailboxesService,
    private readonly clock: Clock,
  ) {}

  @ResolveField(() => Boolean, { description: 'Paused by the operator: it cannot send.' })
  async paused(@Parent() mailbox: Mailbox): Promise<boolean> {
    return (await this.repository.mailboxState(mailbox.name)).paused;
  }

  @ResolveField(() => [String], {
    description:
      'Whose messages it accepts: patterns of mailbox names, * for any run of characters.',
  })
  async acceptFrom(@Parent() mailbox: Mailbox): Promise<string[]> {
    return (await this.repository.contactPolicy(mailbox.name)) ?? [...ACCEPT_ANYONE];
  }

  @ResolveField(() => Int, {
    nullable: true,
    description: 'Its own daily token budget; null: MAILBOX_DAILY_TOKEN_BUDGET applies (0: none).',
  })
  async dailyTokenBudget(@Parent() mailbox: Mailbox): Promise<number | null> {
    return (await this.repository.mailboxState(mailbox.name)).dailyTokenBudget;
  }

  @ResolveField(() => Int, { description: 'Tokens (estimated) it sent today (UTC).' })
  async tokensToday(@Parent() mailbox: Mailbox): Promise<number> {
    return this.repository.tokensOn(mailbox.name, this.clock.now());
  }

  @ResolveField(() => [RecipientTokens], {
    description:
      'Tokens (estimated) it sent today (UTC) to each recipient of its DIRECT messages, most first.',
  })
  async tokensTodayByRecipient(@Parent() mailbox: Mailbox): Promise<RecipientTokens[]> {
    return this.repository.tokensByRecipientOn(mailbox.name, this.clock.now());
  }

  @AdminOnly()
  @Mutation(() => Mailbox, {
    description: 'Stops the mailbox sending, on every instance at once: its sends are PAUSED.',
  })
  async pauseMailbox(@Args('name') name: string): Promise<Mailbox> {
    const record = await this.mailboxes.get(name);
    if (!(await this.repository.setPaused(record.name, true))) throw new MailboxNotFoundError(name);
    await this.mailboxes.announce(record.name, MailboxChangeKind.PAUSED);
    return toMailbox(record);
  }

  @AdminOnly()
  @Mutation(() => Mailbox, { description: 'Lets a paused mailbox send again.' })
  async resumeMailbox(@Args('name') name: string): Promise<Mailbox> {
    const record = await this.mailboxes.get(name);
    if (!(await this.repository.setPaused(record.name, false)))
      throw new MailboxNotFoundError(name);
    await this.mailboxes.announce(record.name, MailboxChangeKind.RESUMED);
    return toMailbox(record);
  }

  @Mutation(() => Mailbox, {
    description:
      'Whose DIRECT messages the mailbox accepts (patterns of mailbox names, * for any run of characters; null: anyone). Others are refused with FORBIDDEN, reason CONTACT_POLICY. The owner or the admin; a mailbox token may leave out mailbox.',
  })
  async setContactPolicy(
    @Args('mailbox', { type: () => String, nullable: true }) mailboxArg: string | null,
    @Args('acceptFrom', { type: () => [String], nullable: true }) acceptFrom: string[] | null,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Mailbox> {
    const record = await this.mailboxes.get(
      actingMailbox(principal, mailboxArg, 'mailbox'),
      'mailbox',
    );
    const policy = acceptFrom === null ? null : checkPolicy(acceptFrom);
    if (!(await this.repository.setContactPolicy(record.name, policy))) {
      throw new MailboxNotFoundError(record.name, 'mailbox');
    }
    return toMailbox(record);
  }

  @AdminOnly()
  @Mutation(() => Mailbox, {
    description:
      "The mailbox's own daily token budget (0: none); null goes back to MAILBOX_DAILY_TOKEN_BUDGET.",
  })
  async setMailboxBudget(
    @Args('name') name: string,
    @Args('dailyTokens', { type: () => Int, nullable: true }) dailyTokens: number | null,
  ): Promise<Mailbox> {
    const record = await this.mailboxes.get(name);
    const budget = dailyTokens === null ? null : checkBudget(dailyTokens, 'dailyTokens');
    if (!(await this.repository.setDailyBudget(record.name, budget))) {
      throw new MailboxNotFoundError(name);
    }
    return toMailbox(record);
  }
}

const MiB = 1024 * 1024;

/** Threads' budgets and kill switch. */
@Resolver(() => ThreadBudget)
export class ThreadBudgetResolver {
  constructor(
    private readonly repository: SafetyRepository,
    private readonly inbox: InboxService,
  ) {}

  private async budget(threadId: string): Promise<ThreadBudget> {
    return { threadId, ...(await this.repository.threadState(threadId)) };
  }

  @Query(() => ThreadBudget, {
    description:
      "A thread's budget, spend and paused state: for the admin, or a mailbox that sent or received a message of the thread (else FORBIDDEN).",
  })
  async threadBudget(
    @Args('threadId') threadIdArg: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ThreadBudget> {
    const threadId = checkThreadId(threadIdArg, 'threadId');
    // A thread is its participants' business: what it spent is not another agent's to read.
    if (principal.kind === 'mailbox') {
      // One message of it the caller may see, read without its content.
      const page = await this.inbox.thread(threadId, 1, null, principal, ownBodyReads(MiB, 0));
      if (page.messages.length === 0) {
        throw new ForbiddenError(
          'threadId',
          'this mailbox sent or received no message of the thread',
        );
      }
    }
    return this.budget(threadId);
  }

  @AdminOnly()
  @Mutation(() => ThreadBudget, {
    description:
      'Tokens the thread may spend in all (0: no budget); a message that would pass it is refused with BUDGET_EXHAUSTED.',
  })
  async setThreadBudget(
    @Args('threadId') threadIdArg: string,
    @Args('maxTokens', { type: () => Int }) maxTokens: number,
  ): Promise<ThreadBudget> {
    const threadId = checkThreadId(threadIdArg, 'threadId');
    const budget = checkBudget(maxTokens, 'maxTokens');
    await this.repository.setThreadBudget(threadId, budget === 0 ? null : budget);
    return this.budget(threadId);
  }

  @AdminOnly()
  @Mutation(() => ThreadBudget, {
    description: 'Stops the thread, on every instance at once: messages joining it are PAUSED.',
  })
  async pauseThread(@Args('threadId') threadIdArg: string): Promise<ThreadBudget> {
    const threadId = checkThreadId(threadIdArg, 'threadId');
    await this.repository.setThreadPaused(threadId, true);
    return this.budget(threadId);
  }

  @AdminOnly()
  @Mutation(() => ThreadBudget, { description: 'Lets a paused thread go on.' })
  async resumeThread(@Args('threadId') threadIdArg: string): Promise<ThreadBudget> {
    const threadId = checkThreadId(threadIdArg, 'threadId');
    await this.repository.setThreadPaused(threadId, false);
    return this.budget(threadId);
  }
}
