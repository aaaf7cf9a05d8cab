import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';

export enum RouteStatus {
  /** A live subscriber got it. */
  SUCCESS = 'SUCCESS',
  /** Stored only: no live subscriber at send time. */
  QUEUED = 'QUEUED',
  /** A broadcast reached some recipients, not all. */
  PARTIAL = 'PARTIAL',
  FAILED = 'FAILED',
}

registerEnumType(RouteStatus, {
  name: 'RouteStatus',
  description:
    'SUCCESS: a live subscriber got it. QUEUED: stored only. PARTIAL: a broadcast reached some recipients. FAILED: not routed.',
});

@ObjectType()
export class RouteResult {
  @Field(() => ID, { description: 'Empty when the message was refused before it got an id.' })
  messageId!: string;

  @Field(() => String, {
    nullable: true,
    description:
      'The thread the message belongs to: given, inherited from the message answered, or its own id. Null when refused.',
  })
  threadId!: string | null;

  @Field(() => RouteStatus)
  status!: RouteStatus;

  @Field(() => Int, { description: 'Mailboxes it was routed to (0 for TOPIC).' })
  recipients!: number;

  @Field(() => String, { nullable: true })
  error!: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'extensions.code of the error, for FAILED entries of sendMessages.',
  })
  errorCode!: string | null;
}
