import { Args, ID, Query, Resolver } from '@nestjs/graphql';
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
  async message(@Args('id', { type: () => ID }) id: string): Promise<Message | null> {
    const message = await this.messages.find(id);
    return message && toMessageModel(message);
  }
}
