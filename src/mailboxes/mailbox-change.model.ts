import { Field, GraphQLISODateTime, ObjectType, registerEnumType } from '@nestjs/graphql';

export enum MailboxChangeKind {
  REGISTERED = 'REGISTERED',
  DEACTIVATED = 'DEACTIVATED',
  DELETED = 'DELETED',
  PAUSED = 'PAUSED',
  RESUMED = 'RESUMED',
}

registerEnumType(MailboxChangeKind, {
  name: 'MailboxChangeKind',
  description: 'What happened to a mailbox.',
});

@ObjectType({ description: 'A mailbox registered, deactivated, deleted, paused or resumed.' })
export class MailboxChange {
  @Field()
  name!: string;

  @Field(() => MailboxChangeKind)
  kind!: MailboxChangeKind;

  @Field(() => GraphQLISODateTime)
  at!: Date;
}

/** A change as published on `mailboxes:changes`, or null for anything else. */
export function readMailboxChange(payload: unknown): MailboxChange | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const { name, kind, at } = payload as Record<string, unknown>;
  if (typeof name !== 'string' || typeof at !== 'number') return null;
  if (!Object.values<unknown>(MailboxChangeKind).includes(kind)) return null;
  return { name, kind: kind as MailboxChangeKind, at: new Date(at) };
}
