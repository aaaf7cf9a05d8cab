import { Args, ID, Query, Resolver } from '@nestjs/graphql';
import { CurrentPrincipal } from '../auth/auth.decorators';
import { ForbiddenError, type Principal } from '../auth/principal';
import { OperationBodyReads, type BodyReads } from './body-reads';
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
    const message = await this.messages.find(id, reads);
    if (!message) return null;
    if (!(await this.messages.mayRead(message, principal))) {
      throw new ForbiddenError(
        'id',
        'this message is neither from nor to the mailbox of this token',
      );
    }
    return toMessageModel(message);
  }
}
