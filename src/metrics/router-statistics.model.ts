import { Field, Float, ObjectType } from '@nestjs/graphql';

@ObjectType({ description: 'Counters summed over every instance; gauges read from Redis now.' })
export class RouterStatistics {
  @Field(() => Float)
  messagesRouted!: number;

  @Field(() => Float)
  messagesDelivered!: number;

  @Field(() => Float)
  messagesFailed!: number;

  @Field(() => Float)
  messagesRetried!: number;

  @Field(() => Float)
  routingErrors!: number;

  @Field(() => Float)
  validationErrors!: number;

  @Field(() => Float, { description: 'Tokens (estimated) of the messages the guards admitted.' })
  tokensSent!: number;

  @Field(() => Float, {
    description:
      'Sends refused by a guard: paused, loop, pair window, duplicate, contact policy or budget.',
  })
  guardRefusals!: number;

  @Field(() => Float, { description: 'Deliveries (message and recipient) awaiting confirmation.' })
  activeConfirmations!: number;

  @Field(() => Float, {
    description: 'Entries in the retry schedules (retries and expiry decisions).',
  })
  pendingDeliveries!: number;

  @Field({ description: "Whether this instance's retry and cleanup loops are alive." })
  running!: boolean;
}
