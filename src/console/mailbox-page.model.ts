import { Field, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Mailbox } from '../mailboxes/mailbox.model';

export enum MailboxOrder {
  NAME = 'NAME',
  CREATED = 'CREATED',
  LAST_SEEN = 'LAST_SEEN',
  UNREAD = 'UNREAD',
  PENDING = 'PENDING',
  DEAD_LETTERS = 'DEAD_LETTERS',
}

registerEnumType(MailboxOrder, {
  name: 'MailboxOrder',
  description:
    'How mailboxPage sorts: by name, creation time, last sighting (lastSeenAt; never seen first), unread messages, pending deliveries or dead letters (ties by name).',
});

export enum MailboxState {
  ACTIVE = 'ACTIVE',
  INACTIVE = 'INACTIVE',
  ONLINE = 'ONLINE',
  PAUSED = 'PAUSED',
  DEAD_LETTERED = 'DEAD_LETTERED',
}

registerEnumType(MailboxState, {
  name: 'MailboxState',
  description:
    'Which mailboxes mailboxPage keeps: active or inactive ones, those with a live subscription (ONLINE), paused ones, or those holding dead letters.',
});

@ObjectType({ description: 'One page of the mailbox list, as a table shows it.' })
export class MailboxPage {
  @Field(() => Int, { description: 'Mailboxes that match the filter and state, on every page.' })
  total!: number;

  @Field(() => Int)
  offset!: number;

  @Field(() => [Mailbox])
  mailboxes!: Mailbox[];
}
