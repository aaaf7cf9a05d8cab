import { Inject, Injectable } from '@nestjs/common';
import { MessagePriority } from '../messages/message.model';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import { RedisTopology } from '../redis/redis-topology.service';
import type { ScriptedClient } from '../redis/redis-scripts';
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

export type DeliveryAction = 'deliver' | 'wait' | 'fail' | 'expire' | 'redrive';

/**
 * Owns delivery state: `delivery_confirmation:{id}` and its events channel, the retry
 * schedules, each mailbox's pending list and dead letters.
 */
@Injectable()
export class DeliveryConfirmationRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly topology: RedisTopology,
  ) {}

  async create(
    messageId: string,
    sender: string,
    priority: MessagePriority,
    expiresAt: number | null,
    recipients: string[],
    now: number,
  ): Promise<number> {
    if (recipients.length === 0) return 0;
    return this.redis.createConfirmation(
      this.keys.deliveryConfirmation(messageId),
      messageId,
      sender,
      priority,
      expiresAt === null ? '' : String(expiresAt),
      now,
      ...recipients,
    );
  }

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
    return attempt > 0 ? { attempt, nextAt, redrivenAt } : null;
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
  ): Promise<{ changed: boolean; state: RecipientState } | null> {
    const [changed, json] = await this.redis.updateDelivery(
      this.keys.deliveryConfirmation(messageId),
      mailbox,
      now,
      action,
      keepFinishedMs,
      expectedAttempts === null ? '' : expectedAttempts,
      reason,
      this.keys.deliveryEvents(messageId),
      this.topology.publishCommand(this.keys.deliveryEvents(messageId)),
    );
    return json ? { changed: changed === 1, state: parseState(json) } : null;
  }

  async find(messageId: string): Promise<ConfirmationRecord | null> {
    return parseConfirmation(await this.redis.hgetall(this.keys.deliveryConfirmation(messageId)));
  }

  async remove(messageId: string): Promise<void> {
    await this.redis.del(this.keys.deliveryConfirmation(messageId));
  }

  async schedule(messageId: string, mailbox: string, priority: string, at: number): Promise<void> {
    await this.redis.zadd(this.keys.retrySchedule(priority), String(at), `${messageId}|${mailbox}`);
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

  async pendingIds(mailbox: string, limit: number): Promise<string[]> {
    return this.redis.zrange(this.keys.mailboxPending(mailbox), '0', String(limit - 1));
  }

  async addPending(mailbox: string, messageId: string, score: number): Promise<void> {
    await this.redis.zadd(this.keys.mailboxPending(mailbox), String(score), messageId);
  }

  async removePending(mailbox: string, messageId: string): Promise<void> {
    await this.redis.zrem(this.keys.mailboxPending(mailbox), messageId);
  }

  async deadLetter(record: DeadLetterRecord): Promise<boolean> {
    const filed = await this.redis.deadLetter(
      this.keys.mailboxDeadLetters(record.mailbox),
      this.keys.mailboxDeadLetterIndex(record.mailbox),
      this.keys.mailboxPending(record.mailbox),
      record.messageId,
      record.deadLetteredAt,
      JSON.stringify(record),
    );
    await this.redis.zadd(
      this.keys.deadLetterIndex(),
      String(record.deadLetteredAt),
      `${record.mailbox}|${record.messageId}`,
    );
    return filed === 1;
  }

  async findDeadLetter(mailbox: string, messageId: string): Promise<DeadLetterRecord | null> {
    const json = await this.redis.hget(this.keys.mailboxDeadLetters(mailbox), messageId);
    return json ? (JSON.parse(json) as DeadLetterRecord) : null;
  }

  async removeDeadLetter(mailbox: string, messageId: string): Promise<void> {
    await Promise.all([
      this.redis.hdel(this.keys.mailboxDeadLetters(mailbox), messageId),
      this.redis.zrem(this.keys.mailboxDeadLetterIndex(mailbox), messageId),
      this.redis.zrem(this.keys.deadLetterIndex(), `${mailbox}|${messageId}`),
    ]);
  }

  /** The newest dead letters first: of one mailbox, or of all. */
  async deadLetters(mailbox: string | null, first: number): Promise<DeadLetterRecord[]> {
    if (mailbox !== null) {
      const ids = await this.redis.zrange(
        this.keys.mailboxDeadLetterIndex(mailbox),
        '0',
        String(first - 1),
        'REV',
      );
      if (ids.length === 0) return [];
      const records = await this.redis.hmget(this.keys.mailboxDeadLetters(mailbox), ...ids);
      return records
        .filter((json): json is string => json !== null)
        .map((json) => JSON.parse(json) as DeadLetterRecord);
    }
    const members = await this.redis.zrange(
      this.keys.deadLetterIndex(),
      '0',
      String(first - 1),
      'REV',
    );
    const records = await Promise.all(
      members.map((member) => {
        const bar = member.indexOf('|');
        return this.findDeadLetter(member.slice(0, bar), member.slice(bar + 1));
      }),
    );
    return records.filter((record): record is DeadLetterRecord => record !== null);
  }

  eventsChannel(messageId: string): string {
    return this.keys.deliveryEvents(messageId);
  }
}
