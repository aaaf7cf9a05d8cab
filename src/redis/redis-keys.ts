/**
 * Every Redis key and channel the service uses, in one place. The braces are Redis Cluster
 * hash tags: keys that one script touches share a tag, so every script runs on Cluster.
 * User text reaches these only after the name rules of CONTRACT.md (src/routing/address.ts).
 *
 * | key | type | what |
 * | --- | --- | --- |
 * | message:{id} | hash | message data |
 * | delivery_confirmation:{id} | hash | confirmation data |
 * | mailbox:{name}:messages | zset | message ids by timestamp |
 * | mailbox:{name}:metadata | hash | mailbox metadata |
 * | mailbox:{name}:feed | channel | live messages for the mailbox |
 * | topic:{name}:messages | zset | message ids by timestamp |
 * | topic:{name}:metadata | hash | topic metadata |
 * | topics:feed | channel | live topic messages, matched by each instance |
 * | mailboxes:{index}:all | zset | every registered mailbox by creation time |
 * | mailboxes:{index}:active | set | active mailboxes (broadcast recipients) |
 * | idempotency:{sender}:{sha256} | string | first message id of a sender's idempotency key |
 */
export class RedisKeys {
  constructor(private readonly prefix: string) {}

  message(id: string): string {
    return `${this.prefix}message:{${id}}`;
  }

  deliveryConfirmation(id: string): string {
    return `${this.prefix}delivery_confirmation:{${id}}`;
  }

  mailboxMessages(name: string): string {
    return `${this.prefix}mailbox:{${name}}:messages`;
  }

  mailboxMetadata(name: string): string {
    return `${this.prefix}mailbox:{${name}}:metadata`;
  }

  mailboxFeed(name: string): string {
    return `${this.prefix}mailbox:{${name}}:feed`;
  }

  topicMessages(topic: string): string {
    return `${this.prefix}topic:{${topic}}:messages`;
  }

  topicMetadata(topic: string): string {
    return `${this.prefix}topic:{${topic}}:metadata`;
  }

  topicFeed(): string {
    return `${this.prefix}topics:feed`;
  }

  mailboxIndexAll(): string {
    return `${this.prefix}mailboxes:{index}:all`;
  }

  mailboxIndexActive(): string {
    return `${this.prefix}mailboxes:{index}:active`;
  }

  /** `keyDigest` is a hex digest of the client's key: its text never reaches Redis. */
  idempotency(sender: string, keyDigest: string): string {
    return `${this.prefix}idempotency:{${sender}}:${keyDigest}`;
  }
}
