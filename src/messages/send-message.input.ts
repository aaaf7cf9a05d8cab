import { Field, ID, InputType, Int } from '@nestjs/graphql';
import { JsonScalar } from '../graphql/json.scalar';
import { AddressingMode, MessagePriority } from './message.model';

/**
 * A message to send. Checked field by field by `validateSendInput`, not by a pipe, so that
 * one bad entry of `sendMessages` fails alone.
 */
@InputType()
export class SendMessageInput {
  @Field(() => String, {
    nullable: true,
    description:
      'The sending mailbox. A mailbox token may leave it out (its own mailbox); the admin names it.',
  })
  sender?: string | null;

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

  @Field(() => JsonScalar, {
    nullable: true,
    description:
      "A JSON object. Its `late` key is the service's (a reply sent after its request's deadline gets `late: true`): a send that sets it is refused.",
  })
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

  @Field(() => String, {
    nullable: true,
    description: 'The conversation. A reply inherits the thread of the message it answers.',
  })
  threadId?: string | null;

  @Field(() => ID, {
    nullable: true,
    description:
      "The message answered. Without a target, a DIRECT reply goes to that message's sender.",
  })
  inReplyTo?: string | null;

  @Field(() => Int, {
    nullable: true,
    description:
      'Makes a request: the sender expects a reply by then (1 to 86400 seconds, and at most ttlSeconds when that is given). Unanswered, the sender gets a reply.timeout notice.',
  })
  replyWithinSeconds?: number | null;

  @Field(() => String, {
    nullable: true,
    description:
      'The same sender and key within 24 hours return the first messageId and route nothing again.',
  })
  idempotencyKey?: string | null;
}
