import { Field, ID, ObjectType } from '@nestjs/graphql';
import { Message } from './message.model';

@ObjectType()
export class PageInfo {
  @Field(() => ID, { nullable: true, description: 'Pass as `after` for the next page.' })
  endCursor!: string | null;

  @Field()
  hasNextPage!: boolean;
}

@ObjectType({ description: 'A page of messages, oldest first.' })
export class MessageConnection {
  @Field(() => [Message])
  nodes!: Message[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
