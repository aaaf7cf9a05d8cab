/**
 * Every Redis key and channel the service uses, in one place. The braces are Redis Cluster
 * hash tags: keys that one script touches share a tag, so every script runs on Cluster.
 * User text reaches these only after the name rules in src/routing/address.ts.
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
 * | topics:{feed} | channel | live topic messages, matched by each instance |
 * | mailboxes:{index}:all | zset | every registered mailbox by creation time |
 * | mailboxes:{index}:active | set | active mailboxes (broadcast recipients) |
 * | idempotency:{sender}:{sha256} | string | first message id of a sender's idempotency key |
 * | delivery_confirmation:{id}:events | channel | delivery status changes of a message |
 * | mailbox:{name}:pending | zset | ids of messages awaiting the mailbox's confirmation |
 * | mailbox:{name}:dead_letters | hash | dead letter records by message id |
 * | mailbox:{name}:dead_letter_index | zset | dead-lettered message ids by time |
 * | dead_letters:{index}:all | zset | "<mailbox>|<id>" of every dead letter, by time |
 * | delivery:{schedule}:<PRIORITY> | zset | "<id>|<mailbox>" deliveries by next decision time |
 * | expiry:{schedule}:messages | zset | "<id>|<mode>|<target>" of expiring messages by expiry |
 * | message:{id}:recipients | set | a broadcast's recipients, kept until cleanup |
 * | expiry:{schedule}:lock | string | the instance running cleanup now (lapses by itself) |
 * | stats:{router}:counters | hash | router statistics, summed over all instances |
 * | ratelimit:{name} | hash | the mailbox token's rate-limit bucket (expires after a minute idle) |
 * | auth:revocations | channel | digests of revoked tokens, so every instance closes their sockets |
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
    return `${this.prefix}topics:{feed}`;
  }

  mailboxIndexAll(): string {
    return `${this.prefix}mailboxes:{index}:all`;
  }

  mailboxIndexActive(): string {
    return `${this.prefix}mailboxes:{index}:active`;
  }

  deliveryEvents(id: string): string {
    return `${this.prefix}delivery_confirmation:{${id}}:events`;
  }

  mailboxPending(name: string): string {
    return `${this.prefix}mailbox:{${name}}:pending`;
  }

  mailboxDeadLetters(name: string): string {
    return `${this.prefix}mailbox:{${name}}:dead_letters`;
  }

  mailboxDeadLetterIndex(name: string): string {
    return `${this.prefix}mailbox:{${name}}:dead_letter_index`;
  }

  deadLetterIndex(): string {
    return `${this.prefix}dead_letters:{index}:all`;
  }

  /** One schedule per priority, all under one tag so that one script claims across them. */
  retrySchedule(priority: string): string {
    return `${this.prefix}delivery:{schedule}:${priority}`;
  }

  expirySchedule(): string {
    return `${this.prefix}expiry:{schedule}:messages`;
  }

  messageRecipients(id: string): string {
    return `${this.prefix}message:{${id}}:recipients`;
  }

  cleanupLock(): string {
    return `${this.prefix}expiry:{schedule}:lock`;
  }

  rateLimit(mailbox: string): string {
    return `${this.prefix}ratelimit:{${mailbox}}`;
  }

  revocations(): string {
    return `${this.prefix}auth:revocations`;
  }

  statistics(): string {
    return `${this.prefix}stats:{router}:counters`;
  }

  /** `keyDigest` is a hex digest of the client's key: its text never reaches Redis. */
  idempotency(sender: string, keyDigest: string): string {
    return `${this.prefix}idempotency:{${sender}}:${keyDigest}`;
  }
}
