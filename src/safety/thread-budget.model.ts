import { Field, Int, ObjectType } from '@nestjs/graphql';

@ObjectType({
  description: "A thread's guard state: its token budget, what it spent, and the kill switch.",
})
export class ThreadBudget {
  @Field()
  threadId!: string;

  @Field(() => Int, {
    nullable: true,
    description: 'Tokens the thread may spend in all; null: no budget.',
  })
  maxTokens!: number | null;

  @Field(() => Int, {
    description:
      'Tokens (estimated) of the messages counted in the thread, from its second message on.',
  })
  spentTokens!: number;

  @Field(() => Int, { description: 'Messages counted in the thread, from its second message on.' })
  messages!: number;

  @Field({ description: 'Paused by the operator: no message may join it.' })
  paused!: boolean;
}

@ObjectType({ description: 'Tokens one mailbox sent to one recipient on a day.' })
export class RecipientTokens {
  @Field()
  recipient!: string;

  @Field(() => Int)
  tokens!: number;
}
