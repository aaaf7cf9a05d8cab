import { Field, InputType, Int } from '@nestjs/graphql';
import { JsonScalar } from '../graphql/json.scalar';
import { AddressingMode, MessagePriority } from './message.model';

/**
 * A message to send. Checked field by field by `validateSendInput`, not by a pipe, so that
 * one bad entry of `sendMessages` fails alone.
 */
@InputType()
export class SendMessageInput {
  @Field({ description: 'The sending mailbox.' })
  sender!: string;

  @Field(() => AddressingMode)
  mode!: AddressingMode;

  @Field(() => String, {
    nullable: true,
    description: 'A mailbox (DIRECT) or a topic (TOPIC); absent for BROADCAST.',
  })
  target?: string | null;

  @Field({ description: 'The payload, at most ROUTER_MAX_PAYLOAD_SIZE bytes of UTF-8.' })
  content!: string;

  @Field(() => String, { nullable: true, description: 'Default "text/plain".' })
  contentType?: string | null;

  @Field(() => String, { nullable: true })
  subject?: string | null;

  @Field(() => JsonScalar, { nullable: true, description: 'A JSON object.' })
  metadata?: unknown;

  @Field(() => MessagePriority, { nullable: true, description: 'Default NORMAL.' })
  priority?: MessagePriority | null;

  @Field(() => Int, { nullable: true, description: 'Expires after this many seconds.' })
  ttlSeconds?: number | null;

  @Field(() => Boolean, { nullable: true, description: 'Default false.' })
  requireConfirmation?: boolean | null;

  @Field(() => String, { nullable: true })
  correlationId?: string | null;

  @Field(() => String, { nullable: true, description: 'A mailbox to answer to.' })
  replyTo?: string | null;

  @Field(() => String, { nullable: true })
  threadId?: string | null;

  @Field(() => String, {
    nullable: true,
    description:
      'The same sender and key within 24 hours return the first messageId and route nothing again.',
  })
  idempotencyKey?: string | null;
}
