import { Args, ID, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import type { BodyReads } from './body-reads';
import { OperationBodyReads } from './body-reads.decorators';
import { Message } from './message.model';
import { MessagesService } from './messages.service';
import { toMessageModel } from './stored-message';

@Resolver(() => Message)
export class MessagesResolver {
  constructor(private readonly messages: MessagesService) {}

  @Query(() => Message, {
    nullable: true,
    description: 'A stored message; null when unknown or expired.',
  })
  async message(
    @Args('id', { type: () => ID }) id: string,
    @CurrentPrincipal() principal: Principal,
    @OperationBodyReads() reads: BodyReads,
  ): Promise<Message | null> {
    const message = await this.messages.findReadable(id, principal, reads);
    if (!message) return null;
    // A mailbox token reads as its mailbox; the admin reads as no mailbox.
    const read =
      principal.kind === 'mailbox' &&
      (await this.messages.markedRead(principal.mailbox, message.id));
    return toMessageModel(message, read);
  }
}
