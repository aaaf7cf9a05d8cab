import {
  Field,
  Float,
  GraphQLISODateTime,
  ID,
  Int,
  ObjectType,
  registerEnumType,
} from '@nestjs/graphql';
import { Message } from '../messages/message.model';

export enum DeliveryStatus {
  PENDING = 'PENDING',
  DELIVERED = 'DELIVERED',
  FAILED = 'FAILED',
  EXPIRED = 'EXPIRED',
}

registerEnumType(DeliveryStatus, { name: 'DeliveryStatus' });

@ObjectType({ description: 'One push of the message to a live subscription of the recipient.' })
export class DeliveryAttempt {
  @Field(() => Int)
  number!: number;

  @Field(() => GraphQLISODateTime)
  at!: Date;

  @Field(() => Float, { nullable: true, description: 'From this push to the confirmation.' })
  latencyMs!: number | null;

  @Field(() => String, { nullable: true })
  error!: string | null;
}

@ObjectType({ description: "A message's delivery to one recipient mailbox." })
export class DeliveryConfirmation {
  @Field(() => ID)
  messageId!: string;

  @Field()
  mailbox!: string;

  @Field(() => DeliveryStatus)
  status!: DeliveryStatus;

  @Field(() => [DeliveryAttempt])
  attempts!: DeliveryAttempt[];

  @Field(() => GraphQLISODateTime, { nullable: true })
  nextRetryAt!: Date | null;

  @Field(() => GraphQLISODateTime, { nullable: true })
  deliveredAt!: Date | null;

  @Field(() => Boolean, {
    description: 'PENDING with no live subscriber: no attempt is spent until one comes.',
  })
  waitingForSubscriber!: boolean;

  @Field(() => String, { nullable: true, description: 'Why it FAILED or EXPIRED.' })
  reason!: string | null;
}

@ObjectType()
export class DeadLetter {
  @Field(() => Message)
  message!: Message;

  @Field()
  mailbox!: string;

  @Field()
  reason!: string;

  @Field(() => Int)
  attempts!: number;

  @Field(() => GraphQLISODateTime)
  deadLetteredAt!: Date;

  @Field({
    description:
      'Its place in the list: pass it as deadLetters(before:) for the dead letters older than this one.',
  })
  cursor!: string;
}
