import { Inject, Injectable, Logger } from '@nestjs/common';
import { MessagePriority } from '../messages/message.model';
import type { StoredMessage } from '../messages/stored-message';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import { RedisTopology } from '../redis/redis-topology.service';
import type { ScriptedClient } from '../redis/redis-scripts';
import { AttemptCode, DeadLetterCode, DeliveryUpdateCode } from '../redis/script-codes';
import { DeliveryStatus } from './delivery-confirmation.model';
import {
  parseConfirmation,
  parseState,
  type ConfirmationRecord,
  type RecipientState,
} from './delivery-state';

/** Schedules in the order the retry loop serves them. */
export const PRIORITY_ORDER = [
  MessagePriority.URGENT,
  MessagePriority.HIGH,
  MessagePriority.NORMAL,
  MessagePriority.LOW,
] as const;

export interface DueDelivery {
  messageId: string;
  mailbox: string;
  priority: MessagePriority;
}

export interface DeadLetterRecord {
  messageId: string;
  mailbox: string;
  reason: string;
  attempts: number;
  deadLetteredAt: number;
}

/** A dead letter's place in a list of them, which a next page starts after. */
export interface DeadLetterPlace {
  deadLetteredAt: number;
  mailbox: string;
  messageId: string;
}

export type DeliveryAction = 'deliver' | 'wait' | 'fail' | 'expire' | 'redrive';

/** The recipient's delivery after an action, and whether the action changed it. */
export interface DeliveryUpdate {
  changed: boolean;
  state: RecipientState;
  /** The message's sender, as the script read it on a change (the hash may be gone after). */
  sender?: string | null;
}

/** Pending lists counted per batch of ZCARDs sent together: one round trip per batch. */
const COUNT_BATCH = 500;

/** What `mailbox:{sender}:deliveries` carries: one recipient's delivery after a change. */
export interface SenderDeliveryEvent {
  messageId: string;
  mailbox: string;
  state: RecipientState;
}

/**
 * Owns delivery state: `delivery_confirmation:{id}` and its events channel, the retry
 * schedules, each mailbox's pending list and dead letters.
 *
 * A delivery's state lives under several hash tags: its confirmation (`{id}`), the retry
 * schedules (`{schedule}`), its mailbox's pending list and dead letters (`{name}`) and the
 * index of all dead letters (`{index}`). A script touches one tag only (Redis Cluster), so
 * each transition below is a short sequence of writes, and it owns their order. The rule
 * throughout: the confirmation is written first, since its script is where the transition is
 * decided, once, for every instance; the entries that point at the delivery follow. An entry
 * that outlives its delivery after a crash misleads no delivery: a push claim on a delivery
 * that is not PENDING is refused, and the retry loop drops a schedule entry whose delivery is
 * finished. A stale pending entry does count in `activeConfirmations` until a repeat of the
 * transition or the message's cleanup removes it.
 *
 * Each change goes out twice: the script that makes it publishes it on the message's events
 * channel (same slot), and this repository then publishes it on the sender's deliveries
 * channel (see tellSender).
 */
/** Why a delivery turned EXPIRED: its message's ttlSeconds passed before a confirmation. */
export const EXPIRED_UNCONFIRMED = 'the message expired before it was confirmed';

@Injectable()
export class DeliveryConfirmationRepository {
  private readonly logger = new Logger(DeliveryConfirmationRepository.name);

  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly topology: RedisTopology,
  ) {}

  /**
   * Claims attempt n+1; returns its number, the time of the next decision and, after a
   * redrive, the redrive's time (0 otherwise), or null.
   */
  async attempt(
    messageId: string,
    mailbox: string,
    mode: 'first' | 'retry',
    expectedAttempts: number,
    waitsMs: number[],
    now: number,
  ): Promise<{ attempt: number; nextAt: number; redrivenAt: number } | null> {
    const [attempt, nextAt, redrivenAt] = await this.redis.attemptDelivery(
      this.keys.deliveryConfirmation(messageId),
      mailbox,
      now,
      mode,
      expectedAttempts,
      this.keys.deliveryEvents(messageId),
      this.topology.publishCommand(this.keys.deliveryEvents(messageId)),
      ...waitsMs,
    );
    if (attempt === AttemptCode.NotClaimed) return null;
    await this.tellSender(messageId, mailbox, null);
    return { attempt, nextAt, redrivenAt };
  }

  /** Applies an action; null for an unknown recipient. */
  async update(
    messageId: string,
    mailbox: string,
    action: DeliveryAction,
    keepFinishedMs: number,
    now: number,
    expectedAttempts: number | null = null,
    reason = '',
    header: Array<string | number> = [],
  ): Promise<DeliveryUpdate | null> {
    const [changed, json, sender] = await this.redis.updateDelivery(
      this.keys.deliveryConfirmation(messageId),
      mailbox,
      now,
      action,
      keepFinishedMs,
      expectedAttempts === null ? '' : expectedAttempts,
      reason,
      this.keys.deliveryEvents(messageId),
      this.topology.publishCommand(this.keys.deliveryEvents(messageId)),
      ...header,
    );
    if (!json) return null;
    const result = {
      changed: changed === DeliveryUpdateCode.Changed,
      state: parseState(json),
      sender: sender ?? null,
    };
    if (result.changed) await this.tellSender(messageId, mailbox, result.state, result.sender);
    return result;
  }

  /**
   * Publishes a change on `mailbox:{sender}:deliveries`, for the sender's `myDeliveries`. Not
   * from the script: on Cluster a script publishes only in the slot of its keys, `{id}`, and
   * the sender's channel is in the slot of `{sender}`. `state` is what the script answered;
   * an attempt's script answers only the attempt, so its state is read back, and if another
   * change came first, that later state is told (twice: its own change tells it too, and
   * watchers drop the repeat by revision). The sender is the one the script answered, else
   * read from the confirmation (one round trip on its tag). The change is made whatever happens here: a failure is logged and
   * the event lost, as pub/sub may lose one anyway.
   */
  private async tellSender(
    messageId: string,
    mailbox: string,
    state: RecipientState | null,
    knownSender: string | null = null,
  ): Promise<void> {
    try {
      const key = this.keys.deliveryConfirmation(messageId);
      let sender = knownSender;
      let told = state;
      if (told === null) {
        const [owner, json] = await this.redis.hmget(key, 'sender', `r:${mailbox}`);
        sender = owner;
        told = json ? parseState(json) : null;
      } else if (sender === null) {
        sender = await this.redis.hget(key, 'sender');
      }
      // Gone already (cleaned up with its message): nobody is left to tell.
      if (!sender || !told) return;
      const event: SenderDeliveryEvent = { messageId, mailbox, state: told };
      await this.topology.publish(this.keys.senderDeliveries(sender), JSON.stringify(event));
    } catch (error) {
      this.logger.warn(
        `delivery change of ${messageId} to ${mailbox} not told to its sender: ${(error as Error).message}`,
      );
    }
  }

  /**
   * The recipient confirmed: DELIVERED, then off the retry schedule and the mailbox's
   * pending list; EXPIRED instead when the message's expiry has passed (before the retry or
   * cleanup loop came to it). Null for an unknown recipient. Both are final, so a repeated
   * confirm removes the two entries again: one that a crash after the first write left
   * behind goes then.
   */
  async confirm(
    messageId: string,
    mailbox: string,
    keepFinishedMs: number,
    now: number,
  ): Promise<DeliveryUpdate | null> {
    const result = await this.update(
      messageId,
      mailbox,
      'deliver',
      keepFinishedMs,
      now,
      null,
      EXPIRED_UNCONFIRMED,
    );
    const finished = result?.state.status;
    if (finished === DeliveryStatus.DELIVERED || finished === DeliveryStatus.EXPIRED) {
      await Promise.all([
        // From every schedule instead of reading the priority first: the member is in one at most.
        ...PRIORITY_ORDER.map((priority) => this.unschedule(messageId, mailbox, priority)),
        this.removePending(mailbox, messageId),
      ]);
    }
    return result;
  }

  /**
   * A dead letter goes back to PENDING with a fresh count, waiting for a push: the
   * confirmation, then the mailbox's pending entry, and the dead letter last. Until the dead
   * letter is gone the redrive can be repeated, and a repeat (the delivery is PENDING
   * already) writes the two entries again. A dead letter outlives its finished confirmation
   * (kept `keepFinishedMs`), so a confirmation that is gone is written again from `message`.
   * Null for an unknown recipient.
   */
  async redrive(
    message: Pick<StoredMessage, 'id' | 'sender' | 'priority' | 'expiresAt' | 'createdAt'>,
    mailbox: string,
    keepFinishedMs: number,
    now: number,
  ): Promise<DeliveryUpdate | null> {
    const result = await this.update(
      message.id,
      mailbox,
      'redrive',
      keepFinishedMs,
      now,
      null,
      '',
      [message.id, message.sender, message.priority, message.expiresAt ?? '', message.createdAt],
    );
    if (!result) return null;
    const messageId = message.id;
    await this.addPending(mailbox, messageId, message.createdAt);
    await this.removeDeadLetter(mailbox, messageId);
    return result;
  }

  /**
   * FAILED after `record.attempts` attempts, then filed among the mailbox's dead letters
   * (which takes it off the pending list) and in the index of all dead letters, and off the
   * retry schedule last. The script fails the delivery only if no attempt was claimed since
   * the caller looked, so exactly one caller files the dead letter, and never for a delivery
   * that was confirmed meanwhile. Until the schedule entry goes, the retry loop comes back to
   * the delivery and drops the entry. A crash right after the first write leaves a FAILED
   * delivery without its dead letter, which the next decision files (refileFailure).
   * Returns whether this call failed the delivery and filed its dead letter.
   */
  async failAndDeadLetter(
    record: DeadLetterRecord,
    priority: string,
    keepFinishedMs: number,
  ): Promise<boolean> {
    const failed = await this.update(
      record.messageId,
      record.mailbox,
      'fail',
      keepFinishedMs,
      record.deadLetteredAt,
      record.attempts,
      record.reason,
    );
    if (!failed?.changed) return false;
    const filed = await this.deadLetter(record);
    await this.unschedule(record.messageId, record.mailbox, priority);
    return filed;
  }

  /**
   * Files the dead letter of a delivery that is FAILED already, and takes it off the retry
   * schedule: what failAndDeadLetter left undone when it stopped after its first write.
   * Returns whether this call filed it (false: it was filed before).
   */
  async refileFailure(record: DeadLetterRecord, priority: string): Promise<boolean> {
    const filed = await this.deadLetter(record);
    await this.unschedule(record.messageId, record.mailbox, priority);
    return filed;
  }

  /**
   * EXPIRED, then off the retry schedule and the mailbox's pending list. The two removals
   * run whether or not this call expired the delivery: the retry and cleanup loops both come
   * to an expired message, and either removes what a crash left. Returns whether this call
   * expired the delivery.
   */
  async expire(
    messageId: string,
    mailbox: string,
    priority: string,
    reason: string,
    keepFinishedMs: number,
    now: number,
  ): Promise<boolean> {
    const expired = await this.update(
      messageId,
      mailbox,
      'expire',
      keepFinishedMs,
      now,
      null,
      reason,
    );
    await Promise.all([
      this.unschedule(messageId, mailbox, priority),
      this.removePending(mailbox, messageId),
    ]);
    return expired?.changed ?? false;
  }

  /**
   * A delivery that can never be attempted (its mailbox went away before the message reached
   * it): FAILED with no attempt and no dead letter, then off the retry schedule. The mailbox
   * never listed it as pending.
   */
  async abandon(
    messageId: string,
    mailbox: string,
    priority: string,
    reason: string,
    keepFinishedMs: number,
    now: number,
  ): Promise<void> {
    await this.update(messageId, mailbox, 'fail', keepFinishedMs, now, 0, reason);
    await this.unschedule(messageId, mailbox, priority);
  }

  /**
   * No subscriber for an attempt after `attempts`: the delivery waits for one, and its only
   * decision left is its expiry (scheduled, or none without one). The schedule follows the
   * state the script answers, so a delivery that was waiting already gets its leased entry
   * back at the expiry, and one that another caller moved on meanwhile keeps that caller's.
   */
  async waitForSubscriber(
    messageId: string,
    mailbox: string,
    priority: string,
    attempts: number,
    expiresAt: number | null,
    keepFinishedMs: number,
    now: number,
  ): Promise<void> {
    const result = await this.update(messageId, mailbox, 'wait', keepFinishedMs, now, attempts);
    if (result?.state.status !== DeliveryStatus.PENDING || !result.state.waiting) return;
    if (expiresAt !== null) await this.schedule(messageId, mailbox, priority, expiresAt);
    else await this.unschedule(messageId, mailbox, priority);
  }

  async find(messageId: string): Promise<ConfirmationRecord | null> {
    return parseConfirmation(await this.redis.hgetall(this.keys.deliveryConfirmation(messageId)));
  }

  /**
   * The confirmation with one recipient's state only (`recipients` holds at most that one):
   * a tracked broadcast's hash has a field per recipient, each with its attempt log, and a
   * decision about one recipient needs none of the others.
   */
  async findFor(messageId: string, mailbox: string): Promise<ConfirmationRecord | null> {
    const fields = ['messageId', 'sender', 'priority', 'expiresAt', `r:${mailbox}`];
    const values = await this.redis.hmget(this.keys.deliveryConfirmation(messageId), ...fields);
    const hash: Record<string, string> = {};
    values.forEach((value, index) => {
      if (value !== null) hash[fields[index]] = value;
    });
    return parseConfirmation(hash);
  }

  async remove(messageId: string): Promise<void> {
    await this.redis.del(this.keys.deliveryConfirmation(messageId));
  }

  async schedule(messageId: string, mailbox: string, priority: string, at: number): Promise<void> {
    await this.redis.zadd(this.keys.retrySchedule(priority), String(at), `${messageId}|${mailbox}`);
  }

  /**
   * Schedules a decision at `at` unless one is due sooner (ZADD LT): an expiry never pushes
   * back a retry that another path scheduled first.
   */
  async scheduleByLatest(
    messageId: string,
    mailbox: string,
    priority: string,
    at: number,
  ): Promise<void> {
    await this.redis.zadd(
      this.keys.retrySchedule(priority),
      'LT',
      String(at),
      `${messageId}|${mailbox}`,
    );
  }

  async unschedule(messageId: string, mailbox: string, priority: string): Promise<void> {
    await this.redis.zrem(this.keys.retrySchedule(priority), `${messageId}|${mailbox}`);
  }

  /** Claims up to `limit` due deliveries, most urgent first, leased until `leaseUntil`. */
  async claimDue(now: number, leaseUntil: number, limit: number): Promise<DueDelivery[]> {
    const [urgent, high, normal, low] = PRIORITY_ORDER.map((priority) =>
      this.keys.retrySchedule(priority),
    );
    const flat = await this.redis.claimDue(urgent, high, normal, low, now, leaseUntil, limit);
    const due: DueDelivery[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const member = String(flat[i]);
      const bar = member.indexOf('|');
      due.push({
        messageId: member.slice(0, bar),
        mailbox: member.slice(bar + 1),
        priority: PRIORITY_ORDER[Number(flat[i + 1]) - 1],
      });
    }
    return due;
  }

  /** Deliveries in the retry schedules (awaiting a retry or an expiry decision). */
  async scheduledCount(): Promise<number> {
    const counts = await Promise.all(
      PRIORITY_ORDER.map((priority) => this.redis.zcard(this.keys.retrySchedule(priority))),
    );
    return counts.reduce((sum, count) => sum + count, 0);
  }

  /**
   * Deliveries still PENDING in the given mailboxes: their pending lists' sizes, summed. The
   * lists are what the transitions above keep, so the count cannot drift from them.
   */
  async pendingCount(mailboxes: string[]): Promise<number> {
    let total = 0;
    for (let i = 0; i < mailboxes.length; i += COUNT_BATCH) {
      // Separate commands, not a pipeline: each list has a hash tag of its own, and a pipeline
      // on Cluster must stay within one slot.
      const counts = await Promise.all(
        mailboxes
          .slice(i, i + COUNT_BATCH)
          .map((mailbox) => this.redis.zcard(this.keys.mailboxPending(mailbox))),
      );
      for (const count of counts) total += count;
    }
    return total;
  }

  /** Deliveries to the mailbox awaiting its confirmation (its pending list). */
  async pendingOf(mailbox: string): Promise<number> {
    return this.redis.zcard(this.keys.mailboxPending(mailbox));
  }

  /** The mailbox's dead letters. */
  async deadLetterCount(mailbox: string): Promise<number> {
    return this.redis.zcard(this.keys.mailboxDeadLetterIndex(mailbox));
  }

  /** Ids of the mailbox's oldest dead letters, at most `limit`. */
  async deadLetterIds(mailbox: string, limit: number): Promise<string[]> {
    return this.redis.zrange(this.keys.mailboxDeadLetterIndex(mailbox), '0', String(limit - 1));
  }

  /**
   * Removes a dead letter (its delivery stays FAILED, its message stays in the mailbox until
   * retention or expiry); false when there was none.
   */
  async purgeDeadLetter(mailbox: string, messageId: string): Promise<boolean> {
    const found = await this.redis.hexists(this.keys.mailboxDeadLetters(mailbox), messageId);
    await this.removeDeadLetter(mailbox, messageId);
    return found === 1;
  }

  /** Up to `limit` ids of the mailbox's pending list, oldest first, from `offset`. */
  async pendingIds(mailbox: string, limit: number, offset = 0): Promise<string[]> {
    return this.redis.zrange(
      this.keys.mailboxPending(mailbox),
      String(offset),
      String(offset + limit - 1),
    );
  }

  private async addPending(mailbox: string, messageId: string, score: number): Promise<void> {
    await this.redis.zadd(this.keys.mailboxPending(mailbox), String(score), messageId);
  }

  private async removePending(mailbox: string, messageId: string): Promise<void> {
    await this.redis.zrem(this.keys.mailboxPending(mailbox), messageId);
  }

  private async deadLetter(record: DeadLetterRecord): Promise<boolean> {
    const filed = await this.redis.deadLetter(
      this.keys.mailboxDeadLetters(record.mailbox),
      this.keys.mailboxDeadLetterIndex(record.mailbox),
      this.keys.mailboxPending(record.mailbox),
      record.messageId,
      record.deadLetteredAt,
      JSON.stringify(record),
    );
    // NX: a dead letter filed again (refileFailure) keeps its first time.
    await this.redis.zadd(
      this.keys.deadLetterIndex(),
      'NX',
      String(record.deadLetteredAt),
      `${record.mailbox}|${record.messageId}`,
    );
    return filed === DeadLetterCode.Filed;
  }

  async findDeadLetter(mailbox: string, messageId: string): Promise<DeadLetterRecord | null> {
    const json = await this.redis.hget(this.keys.mailboxDeadLetters(mailbox), messageId);
    return json ? (JSON.parse(json) as DeadLetterRecord) : null;
  }

  private async removeDeadLetter(mailbox: string, messageId: string): Promise<void> {
    await Promise.all([
      this.redis.hdel(this.keys.mailboxDeadLetters(mailbox), messageId),
      this.redis.zrem(this.keys.mailboxDeadLetterIndex(mailbox), messageId),
      this.redis.zrem(this.keys.deadLetterIndex(), `${mailbox}|${messageId}`),
    ]);
  }

  /**
   * The newest dead letters first (by time, then by member, descending): of one mailbox, or of
   * all; with `before`, those after that one in this order.
   */
  async deadLetters(
    mailbox: string | null,
    first: number,
    before: DeadLetterPlace | null = null,
  ): Promise<DeadLetterRecord[]> {
    if (mailbox !== null) {
      const ids = await this.newestMembers(
        this.keys.mailboxDeadLetterIndex(mailbox),
        first,
        before && { score: before.deadLetteredAt, member: before.messageId },
      );
      if (ids.length === 0) return [];
      const records = await this.redis.hmget(this.keys.mailboxDeadLetters(mailbox), ...ids);
      return records
        .filter((json): json is string => json !== null)
        .map((json) => JSON.parse(json) as DeadLetterRecord);
    }
    const members = await this.newestMembers(
      this.keys.deadLetterIndex(),
      first,
      before && {
        score: before.deadLetteredAt,
        member: `${before.mailbox}|${before.messageId}`,
      },
    );
    const records = await Promise.all(
      members.map((member) => {
        const bar = member.indexOf('|');
        return this.findDeadLetter(member.slice(0, bar), member.slice(bar + 1));
      }),
    );
    return records.filter((record): record is DeadLetterRecord => record !== null);
  }

  /**
   * Up to `count` members of a dead-letter index, newest first: by score, then by member,
   * descending (Redis's reverse order), after `below` when given. The members of `below`'s
   * own time that come before it are passed over, a page of them at a time.
   */
  private async newestMembers(
    key: string,
    count: number,
    below: { score: number; member: string } | null,
  ): Promise<string[]> {
    if (below === null) return this.redis.zrange(key, '0', String(count - 1), 'REV');
    const members: string[] = [];
    for (let offset = 0; members.length < count; offset += count) {
      const reply = await this.redis.zrange(
        key,
        String(below.score),
        '-inf',
        'BYSCORE',
        'REV',
        'LIMIT',
        offset,
        count,
        'WITHSCORES',
      );
      for (let i = 0; i + 1 < reply.length && members.length < count; i += 2) {
        const [member, score] = [reply[i], Number(reply[i + 1])];
        if (score < below.score || member < below.member) members.push(member);
      }
      if (reply.length < 2 * count) break;
    }
    return members;
  }

  eventsChannel(messageId: string): string {
    return this.keys.deliveryEvents(messageId);
  }

  senderChannel(sender: string): string {
    return this.keys.senderDeliveries(sender);
  }
}
