import { Args, ID, Int, Mutation, Query, Resolver, Subscription } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/auth.decorators';
import {
  assertAdmin,
  assertOwnerOrAdmin,
  ForbiddenError,
  mayActFor,
  type Principal,
} from '../auth/principal';
import { PushIterator } from '../graphql/push-iterator';
import { InvalidFieldError } from '../messages/message.errors';
import { assertMessageId } from '../messages/message-id';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import { DeadLetter, DeliveryConfirmation } from './delivery-confirmation.model';
import { DeliveryConfirmationRepository } from './delivery-confirmation.repository';
import { DeliveryService } from './delivery.service';
import { toConfirmationModel, type RecipientState } from './delivery-state';

const MAX_DEAD_LETTERS = 500;

@Resolver(() => DeliveryConfirmation)
export class DeliveryResolver {
  constructor(
    private readonly delivery: DeliveryService,
    private readonly confirmations: DeliveryConfirmationRepository,
    private readonly pubsub: RedisPubSubService,
  ) {}

  @Query(() => [DeliveryConfirmation], {
    description: 'One per recipient; empty when the message is not tracked.',
  })
  async deliveryStatus(
    @Args('messageId', { type: () => ID }) messageId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DeliveryConfirmation[]> {
    return this.delivery.status(messageId, principal);
  }

  @Query(() => [DeadLetter], { description: 'Newest first; of one mailbox, or of all.' })
  async deadLetters(
    @Args('mailbox', { type: () => String, nullable: true }) mailbox: string | null,
    @Args('first', { type: () => Int, nullable: true, defaultValue: 50 }) first: number | null,
    @CurrentPrincipal() principal: Principal,
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
    return this.delivery.deadLetters(mailbox ?? null, count);
  }

  @Mutation(() => DeliveryConfirmation, {
    description: 'The recipient confirms: DELIVERED. Idempotent.',
  })
  async confirmDelivery(
    @Args('mailbox') mailbox: string,
    @Args('messageId', { type: () => ID }) messageId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DeliveryConfirmation> {
    assertOwnerOrAdmin(principal, mailbox, 'mailbox');
    return this.delivery.confirm(mailbox, messageId);
  }

  @Mutation(() => DeliveryConfirmation, {
    description: 'A dead letter goes back to PENDING with a fresh count.',
  })
  async redriveDeadLetter(
    @Args('mailbox') mailbox: string,
    @Args('messageId', { type: () => ID }) messageId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<DeliveryConfirmation> {
    assertOwnerOrAdmin(principal, mailbox, 'mailbox');
    return this.delivery.redrive(mailbox, messageId);
  }

  @Subscription(() => DeliveryConfirmation, {
    description: "Every change of the message's deliveries (attempts and statuses), as it happens.",
    resolve: (confirmation: DeliveryConfirmation) => confirmation,
  })
  async deliveryStatusChanged(
    @Args('messageId', { type: () => ID }) messageIdArg: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<AsyncIterableIterator<DeliveryConfirmation>> {
    const messageId = assertMessageId(messageIdArg, 'messageId');
    // The sender and the admin follow every recipient; a recipient follows its own delivery.
    const record = await this.confirmations.find(messageId);
    const everyone = mayActFor(principal, record?.sender ?? null);
    if (!everyone && !(principal.kind === 'mailbox' && record?.recipients.has(principal.mailbox))) {
      throw new ForbiddenError(
        'messageId',
        'this token is neither the sender nor a recipient of the message',
      );
    }
    let unsubscribe: () => Promise<void> = () => Promise.resolve();
    const iterator = new PushIterator<DeliveryConfirmation>(() => unsubscribe());
    unsubscribe = await this.pubsub.subscribe(
      this.confirmations.eventsChannel(messageId),
      (payload) => {
        const event = payload as { mailbox: string; state: RecipientState };
        if (!everyone && !mayActFor(principal, event.mailbox)) return;
        iterator.push(toConfirmationModel(messageId, event.mailbox, event.state));
      },
    );
    if (iterator.closed) await unsubscribe();
    return iterator;
  }
}
