import { Field, GraphQLISODateTime, ObjectType } from '@nestjs/graphql';
import { JsonScalar } from '../graphql/json.scalar';

@ObjectType({ description: 'A mailbox: where DIRECT and BROADCAST messages wait for an agent.' })
export class Mailbox {
  @Field()
  name!: string;

  @Field({ description: 'Inactive mailboxes keep their messages but receive nothing new.' })
  active!: boolean;

  @Field(() => GraphQLISODateTime)
  createdAt!: Date;

  @Field(() => GraphQLISODateTime, {
    nullable: true,
    description: 'When the owner last sent, read or subscribed (recorded at most once a second).',
  })
  lastSeenAt!: Date | null;

  @Field(() => JsonScalar, { nullable: true })
  metadata!: unknown;
}

@ObjectType()
export class MailboxRegistration {
  @Field(() => Mailbox)
  mailbox!: Mailbox;

  @Field({ description: "The mailbox's own token. Shown once: only its hash is stored." })
  token!: string;
}
