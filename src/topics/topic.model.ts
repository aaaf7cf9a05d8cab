import { Field, GraphQLISODateTime, Int, ObjectType } from '@nestjs/graphql';
import { PageInfo } from '../messages/message-connection.model';

@ObjectType({ description: 'A topic that has had at least one message.' })
export class Topic {
  @Field()
  name!: string;

  @Field(() => GraphQLISODateTime, { description: 'When its first message was sent.' })
  createdAt!: Date;

  @Field(() => GraphQLISODateTime, { description: 'When its latest message was sent.' })
  lastMessageAt!: Date;

  @Field(() => Int, {
    description: 'Messages sent to it, each counted once, including those that have expired since.',
  })
  messageCount!: number;
}

@ObjectType({ description: 'A page of topics in name order.' })
export class TopicConnection {
  @Field(() => [Topic])
  nodes!: Topic[];

  @Field(() => PageInfo, {
    description:
      'endCursor is the last topic name looked at. With a pattern, a page may hold fewer topics than asked while hasNextPage is true: a call looks at a bounded number of names.',
  })
  pageInfo!: PageInfo;
}
