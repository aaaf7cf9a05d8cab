import {
  Field,
  GraphQLISODateTime,
  ID,
  Int,
  ObjectType,
  registerEnumType,
  type MiddlewareContext,
} from '@nestjs/graphql';
import { leadingCharacters, PREVIEW_CHARS } from '../agent-view/agent-message';
import { estimateTokens } from '../safety/token-estimate';
import { chargedContent } from './response-budget';
import { JsonScalar } from '../graphql/json.scalar';

export enum AddressingMode {
  DIRECT = 'DIRECT',
  BROADCAST = 'BROADCAST',
  TOPIC = 'TOPIC',
}

/** Ordered lowest first; the retry loop serves the highest first. */
export enum MessagePriority {
  LOW = 'LOW',
  NORMAL = 'NORMAL',
  HIGH = 'HIGH',
  URGENT = 'URGENT',
}

registerEnumType(AddressingMode, {
  name: 'AddressingMode',
  description:
    'DIRECT: one mailbox. BROADCAST: every active mailbox but the sender. TOPIC: a topic.',
});
registerEnumType(MessagePriority, { name: 'MessagePriority' });

@ObjectType({
  description: 'A stored message. Its id is time-ordered (ULID) and is the resume cursor.',
})
export class Message {
  @Field(() => ID)
  id!: string;

  @Field()
  sender!: string;

  @Field(() => AddressingMode)
  mode!: AddressingMode;

  @Field(() => String, { nullable: true, description: 'The mailbox (DIRECT) or topic (TOPIC).' })
  target!: string | null;

  @Field({
    // Counted against the response's MAX_RESPONSE_CONTENT_CHARS (response-budget.ts).
    middleware: [
      ({ source, context, info }: MiddlewareContext<Message, object | undefined>) =>
        chargedContent(bodyOf(source), context, info),
    ],
  })
  content!: string;

  @Field({
    description: `The first ${PREVIEW_CHARS} characters of content (all of it when shorter): what a listing shows. A page that selects preview and neither content nor tokenEstimate has Redis send only the start of each body (its read limit still counts each body whole).`,
    middleware: [({ source }: MiddlewareContext<Message>) => previewOf(source)],
  })
  preview?: string;

  @Field({
    description:
      'Whether content goes on past preview: a listing that shows the preview alone marks it as cut. Read with preview, as cheaply.',
    middleware: [({ source }: MiddlewareContext<Message>) => previewTruncatedOf(source)],
  })
  previewTruncated?: boolean;

  @Field()
  contentType!: string;

  @Field(() => String, { nullable: true })
  subject!: string | null;

  @Field(() => JsonScalar, { nullable: true })
  metadata!: unknown;

  @Field(() => MessagePriority)
  priority!: MessagePriority;

  @Field(() => GraphQLISODateTime)
  createdAt!: Date;

  @Field(() => GraphQLISODateTime, { nullable: true })
  expiresAt!: Date | null;

  @Field()
  requireConfirmation!: boolean;

  @Field(() => String, { nullable: true })
  correlationId!: string | null;

  @Field(() => String, { nullable: true })
  replyTo!: string | null;

  @Field({ description: 'Given, inherited from the message answered, or else the message id.' })
  threadId!: string;

  @Field(() => ID, { nullable: true, description: 'The message this one answers.' })
  inReplyTo!: string | null;

  @Field(() => GraphQLISODateTime, {
    nullable: true,
    description: "A request's deadline: the sender expects a reply by then.",
  })
  replyBy!: Date | null;

  @Field(() => Int, { description: "0 for a fresh message; the answered message's hop + 1." })
  hop!: number;

  @Field(() => Int, {
    description:
      "Tokens of the body: an offline o200k estimate, or the sender's provider count from metadata.usage (output_tokens, completion_tokens or total_tokens) when that is more. What the budgets count.",
    // Computed from the message itself, on demand: a field middleware, which runs no guard and
    // reads no context, so it is safe in the shared part of a subscription's execution.
    middleware: [
      ({ source }: MiddlewareContext<Message>) => estimateTokens(bodyOf(source), source.metadata),
    ],
  })
  tokenEstimate?: number;

  @Field({
    description:
      "The service's signature of the message: `v1.<kid>.<base64url HMAC-SHA256>` over id, sender, mode, target, threadId, inReplyTo, hop, createdAt and the SHA-256 of content (see verifyMessage). Empty for messages stored before messages were signed.",
  })
  signature!: string;

  @Field({
    description:
      'For the reading mailbox: whether it marked the message read (false on live pushes and where no mailbox reads).',
  })
  read!: boolean;

  @Field(() => Int, {
    nullable: true,
    description:
      'On a live push of a message sent with requireConfirmation: which attempt this is (1 = first). Null elsewhere.',
  })
  deliveryAttempt?: number | null;

  /**
   * Not a GraphQL field: set on a message read without all of its body, for a page whose
   * selection needs none of it or its preview only (bodyNeed, body-reads.decorators.ts). Its
   * content is then empty or the body's start, and the fields computed from the whole body
   * refuse to answer (bodyOf).
   */
  contentCut?: true;
}

/**
 * A message's content, for the fields that answer it or are computed from it. Throws for a
 * message read without its body: a field of the body that bodyNeed does not know would
 * otherwise answer from an empty one.
 */
export function bodyOf(message: Pick<Message, 'content' | 'contentCut'>): string {
  if (message.contentCut) {
    throw new Error('a message read without its body: bodyNeed must name this field');
  }
  return message.content;
}

/**
 * The part of the body a preview is taken from: all of it, or the start a preview read kept (a
 * cut at a character's edge always keeps a character). Throws for a message read without any
 * of its body.
 */
function previewSource(message: Pick<Message, 'content' | 'contentCut'>): string {
  if (message.contentCut && message.content === '') {
    throw new Error('a message read without its body: bodyNeed must name this field');
  }
  return message.content;
}

/** The preview of a message read whole or by its start. */
export function previewOf(message: Pick<Message, 'content' | 'contentCut'>): string {
  return leadingCharacters(previewSource(message), PREVIEW_CHARS).preview;
}

/**
 * Whether a message's content goes on past its preview. A preview read cuts only a body longer
 * than PREVIEW_BYTES (message-preview.lua), and such a body has more than PREVIEW_CHARS
 * characters, since a character takes at most 4 bytes: a cut body always goes on.
 */
export function previewTruncatedOf(message: Pick<Message, 'content' | 'contentCut'>): boolean {
  const source = previewSource(message);
  return message.contentCut === true || leadingCharacters(source, PREVIEW_CHARS).more;
}
