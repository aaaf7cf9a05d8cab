import { Int, Parent, ResolveField, Resolver } from '@nestjs/graphql';
import { Mailbox } from '../mailboxes/mailbox.model';
import { DeliveryConfirmationRepository } from './delivery-confirmation.repository';

/** What a mailbox shows of its deliveries. */
@Resolver(() => Mailbox)
export class MailboxDeliveriesResolver {
  constructor(private readonly confirmations: DeliveryConfirmationRepository) {}

  @ResolveField(() => Int, {
    description: 'Deliveries to it that await its confirmation (requireConfirmation, PENDING).',
  })
  async pendingCount(@Parent() mailbox: Mailbox): Promise<number> {
    return this.confirmations.pendingOf(mailbox.name);
  }

  @ResolveField(() => Int, { description: 'Its dead letters (deadLetters lists them).' })
  async deadLetterCount(@Parent() mailbox: Mailbox): Promise<number> {
    return this.confirmations.deadLetterCount(mailbox.name);
  }
}
