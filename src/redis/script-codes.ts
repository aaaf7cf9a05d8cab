/**
 * The numbers the Lua scripts of src/redis/lua return as codes, named once. Each script's
 * header cites its code by name, so that a change on either side is a change of both.
 * Scripts that return data (ids, counts, a digest) have no code and are not here.
 */

/** store-message.lua */
export const StoreCode = {
  /** This call wrote the message hash. */
  Written: 1,
  /** The hash was there already (a retried send): the first write wins. */
  AlreadyStored: 0,
} as const;
export type StoreCode = (typeof StoreCode)[keyof typeof StoreCode];

/**
 * enqueue-mailbox.lua: a count of 0 or more is the number of service instances that got the
 * live push; these negative codes say why there was no push.
 */
export const EnqueueCode = {
  /** The mailbox is unknown or inactive: nothing was written. */
  Missing: -1,
  /** The message was in the mailbox already (a retried send): nothing is published again. */
  Duplicate: -2,
  /** store-and-enqueue.lua: the mailbox is missing, and the message was stored before. */
  MissingAfterStore: -3,
} as const;
export type EnqueueCode = (typeof EnqueueCode)[keyof typeof EnqueueCode];

/** enqueue-topic.lua */
export const TopicEnqueueCode = {
  /** Added to the topic's history: the caller publishes it. */
  Added: 1,
  /** In the topic already, but never published (a retried send whose try stopped between). */
  Unpublished: 2,
  /** The message was in the topic already (a retried send): nothing is published again. */
  Duplicate: -2,
} as const;
export type TopicEnqueueCode = (typeof TopicEnqueueCode)[keyof typeof TopicEnqueueCode];

/**
 * attempt-delivery.lua: the first element of its answer is the claimed attempt's number (1 or
 * more), or this code.
 */
export const AttemptCode = {
  /** No attempt claimed: the delivery is not PENDING, or another caller moved it on first. */
  NotClaimed: 0,
} as const;
export type AttemptCode = (typeof AttemptCode)[keyof typeof AttemptCode];

/** update-delivery.lua: the first element of its answer. */
export const DeliveryUpdateCode = {
  Changed: 1,
  /** The action did not apply (or the recipient is unknown): nothing was written. */
  Unchanged: 0,
} as const;
export type DeliveryUpdateCode = (typeof DeliveryUpdateCode)[keyof typeof DeliveryUpdateCode];

/** dead-letter.lua */
export const DeadLetterCode = {
  Filed: 1,
  /** The mailbox had this dead letter already: the first record stays. */
  AlreadyFiled: 0,
} as const;
export type DeadLetterCode = (typeof DeadLetterCode)[keyof typeof DeadLetterCode];

/** register-mailbox.lua */
export const RegisterCode = {
  /** Registered, or a deactivated mailbox reactivated. */
  Registered: 1,
  /** The mailbox exists and is active: nothing was written. */
  AlreadyActive: 0,
} as const;
export type RegisterCode = (typeof RegisterCode)[keyof typeof RegisterCode];

/** deactivate-mailbox.lua */
export const DeactivateCode = {
  /** Deactivated, or inactive already. */
  Deactivated: 1,
  NotFound: 0,
} as const;
export type DeactivateCode = (typeof DeactivateCode)[keyof typeof DeactivateCode];

/** touch-mailbox.lua */
export const TouchCode = {
  Recorded: 1,
  /** The mailbox does not exist: no key was created. */
  NotFound: 0,
} as const;
export type TouchCode = (typeof TouchCode)[keyof typeof TouchCode];

/**
 * authenticate-charge.lua: the first of a check's two values; the second is the wait in
 * milliseconds.
 */
export const RateLimitCode = {
  Allowed: 1,
  Limited: 0,
  /** The token is not the mailbox's (unknown, rotated or revoked): nothing was charged. */
  TokenRefused: -1,
  /** A key of the check holds another type; the second value is Redis' error. */
  KeyRefused: -2,
} as const;
export type RateLimitCode = (typeof RateLimitCode)[keyof typeof RateLimitCode];

/** release-lock.lua */
export const ReleaseLockCode = {
  Released: 1,
  /** The lock lapsed, or another owner holds it: nothing was deleted. */
  NotOwner: 0,
} as const;
export type ReleaseLockCode = (typeof ReleaseLockCode)[keyof typeof ReleaseLockCode];

/** write-probe.lua: its only answer; a Redis that refuses writes refuses the script instead. */
export const WriteProbeCode = {
  Writable: 1,
} as const;
export type WriteProbeCode = (typeof WriteProbeCode)[keyof typeof WriteProbeCode];

/** send-guard.lua: the first element of its answer; the second is the detail it names. */
export const SendGuardCode = {
  Admitted: 1,
  /** The sending mailbox is paused. */
  Paused: 2,
  /** The window of messages to the recipient is full; detail: milliseconds until it has room. */
  PairLimited: 3,
  /** The same body went to the recipient lately; detail: the first send's id. */
  Duplicate: 4,
  /** The sender's daily token budget would be passed; detail: the budget. */
  BudgetExhausted: 5,
} as const;
export type SendGuardCode = (typeof SendGuardCode)[keyof typeof SendGuardCode];

/**
 * guarded-send.lua: the first value of a send's answer when nothing was done; otherwise it is
 * a SendGuardCode.
 */
export const GuardedSendCode = {
  /** The recipient has a contact policy: the caller checks it and sends in two calls. */
  PolicySet: -1,
  /** The thread's guard refused the send; the answer's third value is its ThreadGuardCode. */
  ThreadRefused: -2,
} as const;

/** thread-guard.lua: the first element of its answer; the second is the detail it names. */
export const ThreadGuardCode = {
  Admitted: 1,
  /** The thread is paused. */
  Paused: 2,
  /** Replies have reached the recipient too often in the thread; detail: how often. */
  Loop: 3,
  /** The thread's token budget would be passed; detail: the budget. */
  BudgetExhausted: 4,
} as const;
export type ThreadGuardCode = (typeof ThreadGuardCode)[keyof typeof ThreadGuardCode];
