import { Args, ID, Int, Mutation, Query, Resolver, Subscription } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/auth.decorators';
import {
  assertAdmin,
  assertOwnerOrAdmin,
  actingMailbox,
  ForbiddenError,
  type Principal,
} from '../auth/principal';
import { MailboxNotFoundError } from '../mailboxes/mailbox.errors';
import { MailboxRepository } from '../mailboxes/mailbox.repository';
import type { BodyReads } from '../messages/body-reads';
import { OperationBodyReads } from '../messages/body-reads.decorators';
import { InvalidFieldError } from '../messages/message.errors';
import { assertMessageId } from '../messages/message-id';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import { assertMailboxName } from '../routing/address';
import { parseDeadLetterCursor } from './dead-letter-cursor';
import { DeadLetter, DeliveryConfirmation } from './delivery-confirmation.model';
import { DeliveryConfirmationRepository } from './delivery-confirmation.repository';
import { DeliveryFeeds } from './delivery-feeds';
import { DeliveryService } from './delivery.service';

const MAX_DEAD_LETTERS = 500;

@Resolver(() => DeliveryConfirmation)
export class DeliveryResolver {
  private readonly feeds: DeliveryFeeds;

  constructor(
    private readonly delivery: DeliveryService,
    private readonly confirmations: DeliveryConfirmationRepository,
    private readonly mailboxes: MailboxRepository,
    pubsub: RedisPubSubService,
  ) {
    this.feeds = new DeliveryFeeds(pubsub, confirmations);
  }

  @Query(() => [DeliveryConfirmation], {
    description: 'One per recipient; empty when the message is not tracked.',
  })
  async deliveryStatus(
    @Args('messageId', { type: () => ID }) messageId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DeliveryConfirmation[]> {
    return this.delivery.status(messageId, principal);
  }

  @Query(() => [DeadLetter], {
    description:
      'Newest first; of one mailbox, or of all; with before, those older than that one. Fewer than first when their messages pass the 64 MiB of bodies an operation may read (the newest is always answered): pass the cursor of the last to go on. A selection of message that names neither content nor tokenEstimate reads no content and counts its metadata alone; with preview, Redis sends only the start of each body (which still counts whole).',
  })
  async deadLetters(
    @Args('mailbox', { type: () => String, nullable: true }) mailbox: string | null,
    @Args('first', { type: () => Int, nullable: true, defaultValue: 50 }) first: number | null,
    @Args('before', {
      type: () => String,
      nullable: true,
      description:
        'The cursor of the last dead letter of a page: the next page holds those dead-lettered before it.',
    })
    before: string | null,
    @CurrentPrincipal() principal: Principal,
    @OperationBodyReads('page') reads: BodyReads,
  ): Promise<DeadLetter[]> {
    if (mailbox === null || mailbox === undefined) assertAdmin(principal, 'deadLetters');
    else assertOwnerOrAdmin(principal, mailbox, 'mailbox');
    const count = first ?? 50;
    if (!Number.isInteger(count) || count < 1 || count > MAX_DEAD_LETTERS) {
      throw new InvalidFieldError(
        'first',
        `must be from 1 to ${MAX_DEAD_LETTERS}`,
        MAX_DEAD_LETTERS,
      );
    }
    const place =
      before === null || before === undefined ? null : parseDeadLetterCursor(before, 'before');
    return this.delivery.deadLetters(mailbox ?? null, count, reads, place);
  }

  @Mutation(() => DeliveryConfirmation, {
    description:
      'The recipient confirms: DELIVERED. Idempotent. A mailbox token may leave out mailbox.',
  })
  async confirmDelivery(
    @Args('mailbox', { type: () => String, nullable: true }) mailbox: string | null,
    @Args('messageId', { type: () => ID }) messageId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DeliveryConfirmation> {
    return this.delivery.confirm(actingMailbox(principal, mailbox, 'mailbox'), messageId);
  }

  @Mutation(() => DeliveryConfirmation, {
    description:
      'A dead letter goes back to PENDING with a fresh count. A mailbox token may leave out mailbox.',
  })
  async redriveDeadLetter(
    @Args('mailbox', { type: () => String, nullable: true }) mailbox: string | null,
    @Args('messageId', { type: () => ID }) messageId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DeliveryConfirmation> {
    return this.delivery.redrive(actingMailbox(principal, mailbox, 'mailbox'), messageId);
  }

  @Mutation(() => Int, {
    description:
      'Redrives the named dead letters of the mailbox (as redriveDeadLetter), or without messageIds its oldest ones, at most 1000 per call; returns how many went back to PENDING. The owner or the admin; a mailbox token may leave out mailbox.',
  })
  async redriveDeadLetters(
    @Args('mailbox', { type: () => String, nullable: true }) mailbox: string | null,
    @Args('messageIds', { type: () => [ID], nullable: true }) messageIds: string[] | null,
    @CurrentPrincipal() principal: Principal,
  ): Promise<number> {
    const name = actingMailbox(principal, mailbox, 'mailbox');
    return this.delivery.handleDeadLetters('redrive', name, messageIds ?? null);
  }

  @Mutation(() => Int, {
    description:
      'Removes the named dead letters of the mailbox, or without messageIds its oldest ones, at most 1000 per call; returns how many. Their deliveries stay FAILED and their messages stay in the mailbox until retention or expiry. The owner or the admin; a mailbox token may leave out mailbox.',
  })
  async purgeDeadLetters(
    @Args('mailbox', { type: () => String, nullable: true }) mailbox: string | null,
    @Args('messageIds', { type: () => [ID], nullable: true }) messageIds: string[] | null,
    @CurrentPrincipal() principal: Principal,
  ): Promise<number> {
    const name = actingMailbox(principal, mailbox, 'mailbox');
    return this.delivery.handleDeadLetters('purge', name, messageIds ?? null);
  }

  @Subscription(() => DeliveryConfirmation, {
    description:
      "The current state of each of the message's deliveries first (one per recipient), then every change of them (attempts and statuses), as it happens: none is lost between the two.",
    resolve: (confirmation: DeliveryConfirmation) => confirmation,
  })
  async deliveryStatusChanged(
    @Args('messageId', { type: () => ID }) messageIdArg: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<AsyncIterableIterator<DeliveryConfirmation>> {
    const messageId = assertMessageId(messageIdArg, 'messageId');
    // The sender and the admin follow every recipient; a recipient follows its own delivery.
    // Who sent a message and to whom never changes, so this read decides for the whole feed.
    const record = await this.confirmations.find(messageId);
    const actsFor = await this.delivery.actsFor(principal, messageId);
    const everyone = record !== null && actsFor(record.sender);
    if (
      !everyone &&
      !(
        principal.kind === 'mailbox' &&
        record?.recipients.has(principal.mailbox) &&
        actsFor(principal.mailbox)
      )
    ) {
      throw new ForbiddenError(
        'messageId',
        'this token is neither the sender nor a recipient of the message',
      );
    }
    return this.feeds.watchMessage(messageId, (mailbox) => everyone || actsFor(mailbox));
  }

  @Subscription(() => DeliveryConfirmation, {
    description:
      "Every change (attempts and statuses) of every delivery of the messages the caller's mailbox sent, as it happens; live only (deliveryStatus has the current state). The admin names the sender.",
    resolve: (confirmation: DeliveryConfirmation) => confirmation,
  })
  async myDeliveries(
    @Args('sender', {
      type: () => String,
      nullable: true,
      description:
        "The sending mailbox: a mailbox token's own (it may leave it out); the admin must name it.",
    })
    senderArg: string | null,
    @CurrentPrincipal() principal: Principal,
  ): Promise<AsyncIterableIterator<DeliveryConfirmation>> {
    let sender: string;
    if (senderArg === null || senderArg === undefined) {
      // An everything-stream would put every delivery change of the service through one
      // channel, and so one slot of a Cluster: the admin follows one sender at a time.
      if (principal.kind === 'admin') {
        throw new InvalidFieldError(
          'sender',
          'required with the admin token, which has no mailbox of its own: name the sending mailbox',
        );
      }
      sender = principal.mailbox;
    } else {
      sender = assertMailboxName(senderArg, 'sender');
      assertOwnerOrAdmin(principal, sender, 'sender');
    }
    if (principal.kind === 'admin' && !(await this.mailboxes.find(sender))) {
      throw new MailboxNotFoundError(sender, 'sender');
    }
    return this.feeds.watchSender(
      sender,
      principal.kind === 'admin' ? null : ((await this.mailboxes.registeredAt(sender)) ?? 0),
    );
  }
}
