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
 * | topic:{name}:arrivals | zset | message ids by when they were stored (Redis time, us) |
 * | topics:{feed} | channel | live topic messages, matched by each instance |
 * | topics:{index}:all | zset | every topic that had a message, by its last message time |
 * | topics:{index}:names | zset | the same topics, all scored 0, in name order |
 * | topics:{index}:arrivals | zset | the same topics, by when a message was last stored |
 * | mailboxes:{index}:all | zset | every registered mailbox by creation time |
 * | mailboxes:{index}:active | set | active mailboxes (broadcast recipients) |
 * | mailboxes:{index}:paused | set | the paused mailboxes (the flag itself is in their metadata) |
 * | threads:{index}:paused | set | the paused threads' ids (the flag itself is in thread:{sha256}:guard) |
 * | mailboxes:{index}:seen | zset | mailboxes by when their owner was last seen (or registered) |
 * | mailboxes:{index}:deleting | zset | deleted mailboxes whose stored entries cleanup still removes, by deletion time |
 * | mailboxes:deletions | channel | names of deleted mailboxes, so every instance ends their feeds |
 * | mailboxes:changes | channel | mailboxes registered, deactivated, deleted, paused or resumed (mailboxChanges) |
 * | idempotency:{sender}:{sha256} | string | first message id of a sender's idempotency key |
 * | mailbox:{name}:idempotency_keys | zset | the mailbox's idempotency key names, by when they lapse |
 * | delivery_confirmation:{id}:events | channel | delivery status changes of a message |
 * | mailbox:{name}:deliveries | channel | delivery status changes of every message the mailbox sent |
 * | mailbox:{name}:read | zset | ids the mailbox marked read (a subset of its messages) |
 * | thread:{sha256}:messages | zset | message ids of a thread by time (threads of two or more) |
 * | mailbox:{name}:pending | zset | ids of messages awaiting the mailbox's confirmation |
 * | mailbox:{name}:dead_letters | hash | dead letter records by message id |
 * | mailbox:{name}:dead_letter_index | zset | dead-lettered message ids by time |
 * | dead_letters:{index}:all | zset | "<mailbox>|<id>" of every dead letter, by time |
 * | delivery:{schedule}:<PRIORITY> | zset | "<id>|<mailbox>" deliveries by next decision time |
 * | requests:{schedule}:deadlines | zset | ids of unanswered requests by their replyBy |
 * | expiry:{schedule}:messages | zset | "<id>|<mode>|<target>" of expiring messages by expiry |
 * | message:{id}:recipients | set | a broadcast's recipients, kept until cleanup |
 * | expiry:{schedule}:lock | string | the instance running cleanup now (lapses by itself) |
 * | expiry:{schedule}:retention_cursor | string | where cleanup's pass over the mailboxes' retention limits goes on |
 * | expiry:{schedule}:topic_retention_cursor | string | the topic after which cleanup's pass over TOPIC_MAX_MESSAGES goes on |
 * | stats:{router}:counters | hash | router statistics, summed over all instances |
 * | ratelimit:{name} | hash | the mailbox token's rate-limit bucket (expires one to two minutes idle) |
 * | auth:revocations | channel | digests of revoked tokens, so every instance closes their sockets |
 * | mailbox:{name}:search:<term> | zset | search index: ids of the mailbox's messages holding the term, by timestamp |
 * | mailbox:{name}:pair:<recipient> | zset | DIRECT message ids to the recipient in the last minute |
 * | mailbox:{name}:dup:<sha256> | string | the first send of a body to a recipient (DUPLICATE_WINDOW) |
 * | mailbox:{name}:tokens:<day> | hash | tokens sent that UTC day: total, messages, to:<recipient> |
 * | thread:{sha256}:guard | hash | a thread's paused flag, token budget, spend and reply visits |
 * | mailbox:{name}:wait | string | the MCP wait_for_message running for the mailbox (lapses by itself) |
 * | mailbox:{name}:search-terms | zset | the names of the mailbox's search:<term> keys by lapse time, for deleting the mailbox |
 * | signing:{keys}:current | string | the kid of the generated message-signing key in use (unset with MESSAGE_SIGNING_KEY) |
 * | signing:{keys}:secrets | hash | generated message-signing keys by kid (base64url), old ones kept for verification |
 * | signing:rotations | channel | the kid of a newly rotated signing key, so every instance signs with it |
 */
export class RedisKeys {
  /**
   * The channels' prefix. Keys live in the connection's database, but Redis delivers a
   * PUBLISH to every subscriber of the channel whatever database it selected: a deployment on
   * database N > 0 names its channels `<prefix>db<N>:...`, so that deployments sharing one
   * Redis by database number do not hear each other's messages.
   */
  private readonly channelPrefix: string;

  constructor(
    private readonly prefix: string,
    database = 0,
  ) {
    this.channelPrefix = database === 0 ? prefix : `${prefix}db${database}:`;
  }

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
    return `${this.channelPrefix}mailbox:{${name}}:feed`;
  }

  /** The sliding minute of DIRECT messages from `name` to `recipient` (a checked name). */
  mailboxPair(name: string, recipient: string): string {
    return `${this.prefix}mailbox:{${name}}:pair:${recipient}`;
  }

  /** The duplicate guard of one body to one recipient: `digest` is a SHA-256 in hex. */
  mailboxDuplicate(name: string, digest: string): string {
    return `${this.prefix}mailbox:{${name}}:dup:${digest}`;
  }

  /** The tokens a mailbox sent on one UTC day (`day`: YYYY-MM-DD). */
  mailboxTokens(name: string, day: string): string {
    return `${this.prefix}mailbox:{${name}}:tokens:${day}`;
  }

  /** A thread's guard state: paused, budget, spend and reply visits. */
  threadGuard(threadKey: string): string {
    return `${this.prefix}thread:{${threadKey}}:guard`;
  }

  /** Held while an MCP `wait_for_message` of the mailbox runs: one wait per mailbox at a time. */
  mailboxWait(name: string): string {
    return `${this.prefix}mailbox:{${name}}:wait`;
  }

  /** Channel: the id of an MCP request whose client cancelled it, for the wait serving it. */
  mailboxWaitCancels(name: string): string {
    return `${this.channelPrefix}mailbox:{${name}}:wait-cancels`;
  }

  topicMessages(topic: string): string {
    return `${this.prefix}topic:{${topic}}:messages`;
  }

  topicMetadata(topic: string): string {
    return `${this.prefix}topic:{${topic}}:metadata`;
  }

  /** The topic's message ids by when each was stored (see enqueue-topic.lua). */
  topicArrivals(topic: string): string {
    return `${this.prefix}topic:{${topic}}:arrivals`;
  }

  topicFeed(): string {
    return `${this.channelPrefix}topics:{feed}`;
  }

  /** Scored by last message time: a catch-up reads only the topics active since its cursor. */
  topicIndexAll(): string {
    return `${this.prefix}topics:{index}:all`;
  }

  /** Scored 0, so that ZRANGE BYLEX pages the topics by name. */
  topicIndexNames(): string {
    return `${this.prefix}topics:{index}:names`;
  }

  /** The topic index by when a message was last stored in each (epoch ms, the storer's clock). */
  topicIndexArrivals(): string {
    return `${this.prefix}topics:{index}:arrivals`;
  }

  mailboxIndexAll(): string {
    return `${this.prefix}mailboxes:{index}:all`;
  }

  mailboxIndexActive(): string {
    return `${this.prefix}mailboxes:{index}:active`;
  }

  mailboxIndexSeen(): string {
    return `${this.prefix}mailboxes:{index}:seen`;
  }

  /** The names of the paused mailboxes, for counting them. */
  mailboxIndexPaused(): string {
    return `${this.prefix}mailboxes:{index}:paused`;
  }

  /** The ids of the paused threads, for counting them. */
  threadIndexPaused(): string {
    return `${this.prefix}threads:{index}:paused`;
  }

  mailboxIndexDeleting(): string {
    return `${this.prefix}mailboxes:{index}:deleting`;
  }

  /** A plain channel (no hash tag): every instance hears every deletion. */
  mailboxDeletions(): string {
    return `${this.channelPrefix}mailboxes:deletions`;
  }

  mailboxChanges(): string {
    return `${this.channelPrefix}mailboxes:changes`;
  }

  deliveryEvents(id: string): string {
    return `${this.channelPrefix}delivery_confirmation:{${id}}:events`;
  }

  /** Published by the service after the script that made the change (a slot of its own). */
  senderDeliveries(name: string): string {
    return `${this.channelPrefix}mailbox:{${name}}:deliveries`;
  }

  /** Read marks of a mailbox: a subset of its messages index, scored the same. */
  mailboxRead(name: string): string {
    return `${this.prefix}mailbox:{${name}}:read`;
  }

  /**
   * A conversation's messages, for threads of more than one message. `threadKey` is a hex
   * digest of the thread id: its text never reaches Redis.
   */
  thread(threadKey: string): string {
    return `${this.prefix}thread:{${threadKey}}:messages`;
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

  /** Requests (replyWithinSeconds) by deadline, until answered or told of their timeout. */
  requestDeadlines(): string {
    return `${this.prefix}requests:{schedule}:deadlines`;
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

  retentionCursor(): string {
    return `${this.prefix}expiry:{schedule}:retention_cursor`;
  }

  topicRetentionCursor(): string {
    return `${this.prefix}expiry:{schedule}:topic_retention_cursor`;
  }

  rateLimit(mailbox: string): string {
    return `${this.prefix}ratelimit:{${mailbox}}`;
  }

  revocations(): string {
    return `${this.channelPrefix}auth:revocations`;
  }

  statistics(): string {
    return `${this.prefix}stats:{router}:counters`;
  }

  /**
   * `term` comes from src/search/search-tokenizer.ts: letters, digits and combining marks
   * only, so no brace, glob character or separator reaches the key.
   */
  searchTerm(name: string, term: string): string {
    return `${this.prefix}mailbox:{${name}}:search:${term}`;
  }

  searchTerms(name: string): string {
    return `${this.prefix}mailbox:{${name}}:search-terms`;
  }

  /** `keyDigest` is a hex digest of the client's key: its text never reaches Redis. */
  idempotency(sender: string, keyDigest: string): string {
    return `${this.prefix}idempotency:{${sender}}:${keyDigest}`;
  }

  /** The names of the sender's idempotency keys, for a deletion of the mailbox to remove. */
  idempotencyIndex(sender: string): string {
    return `${this.prefix}mailbox:{${sender}}:idempotency_keys`;
  }

  /** The kid of the generated signing key in use; written with SET NX by the first instance. */
  signingCurrent(): string {
    return `${this.prefix}signing:{keys}:current`;
  }

  /** Every generated signing key by kid: the current one and the ones rotated out. */
  signingSecrets(): string {
    return `${this.prefix}signing:{keys}:secrets`;
  }

  /** A plain channel (no hash tag): every instance hears every rotation. */
  signingRotations(): string {
    return `${this.channelPrefix}signing:rotations`;
  }
}
