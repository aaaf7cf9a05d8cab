import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { mayActFor, type Principal } from '../auth/principal';
import { AppError } from '../common/app-error';
import { asClientError } from '../common/client-error';
import { Clock } from '../common/clock';
import { AppConfigService } from '../config/app-config.service';
import { MailboxRepository } from '../mailboxes/mailbox.repository';
import { MAX_OPERATION_BODY_BYTES, type BodyReads } from '../messages/body-reads';
import { MessageRepository } from '../messages/message.repository';
import { InvalidFieldError } from '../messages/message.errors';
import { assertMessageId } from '../messages/message-id';
import { ownedByName } from '../messages/messages.service';
import { isExpired, toPushPayload, type StoredMessage } from '../messages/stored-message';
import { StatisticsService } from '../metrics/statistics.service';
import { retryDelayTableMs, maxAttempts, type RetryPolicy } from '../retry/retry-policy';
import { assertMailboxName } from '../routing/address';
import { SendEvents } from '../store/send-events';
import {
  DeliveryStatus,
  type DeadLetter,
  type DeliveryConfirmation,
} from './delivery-confirmation.model';
import { formatDeadLetterCursor } from './dead-letter-cursor';
import {
  DeliveryConfirmationRepository,
  type DeadLetterPlace,
  EXPIRED_UNCONFIRMED,
  type DeadLetterRecord,
  type DueDelivery,
} from './delivery-confirmation.repository';
import { DeliveryNotFoundError, NotDeadLetteredError } from './delivery.errors';
import {
  newestReadRecords,
  toConfirmationModel,
  type ConfirmationRecord,
  type RecipientState,
} from './delivery-state';
import { DeliveryNoticeService } from './delivery-notice.service';
import { toMessageModel } from '../messages/stored-message';

/** The JSON pushed for a claimed attempt. */
function pushPayload(
  message: StoredMessage,
  claimed: { attempt: number; redrivenAt: number },
): string {
  return toPushPayload(
    message,
    claimed.attempt,
    claimed.redrivenAt > 0 ? claimed.redrivenAt : undefined,
  );
}

const CLAIM_BATCH = 200;
/**
 * The most bytes of message bodies the decisions of a batch read at once: each may read its
 * message whole (a push carries it), and 200 messages of the size limit would be gigabytes.
 * Decisions of small messages all run at once, as before; large ones go a few at a time.
 */
const DECISION_BODY_BYTES = MAX_OPERATION_BODY_BYTES;
/** Pending deliveries looked at per step when a subscriber arrives. */
const ARRIVAL_BATCH = 1_000;
/** Pending deliveries looked at in all when a subscriber arrives (a mailbox's default cap). */
const ARRIVAL_SCAN = 10_000;
/** Waiting deliveries read and pushed at once when a subscriber arrives. */
const ARRIVAL_PUSHES = 100;
const UNREACHABLE = 'the recipient mailbox is not active';
/** Dead letters one redriveDeadLetters or purgeDeadLetters call handles at most. */
export const MAX_BULK_DEAD_LETTERS = 1_000;
/** Dead letters handled at once within such a call. */
const BULK_BATCH = 50;

/**
 * Delivery confirmation, retries, dead letters and expiry (the seed's DeliveryConfirmation
 * and the router's retry logic). Every push of a tracked delivery is first claimed by a
 * script on the confirmation, so that several instances never push the same attempt twice.
 * This service decides (policy, statistics, notices, who may act); each transition's writes
 * and their order belong to DeliveryConfirmationRepository.
 */
@Injectable()
export class DeliveryService implements OnModuleInit {
  private readonly logger = new Logger(DeliveryService.name);

  constructor(
    private readonly config: AppConfigService,
    private readonly confirmations: DeliveryConfirmationRepository,
    private readonly messages: MessageRepository,
    private readonly mailboxes: MailboxRepository,
    private readonly notices: DeliveryNoticeService,
    private readonly statistics: StatisticsService,
    private readonly events: SendEvents,
    private readonly clock: Clock,
  ) {}

  /** Tracked deliveries start from what the store step announces it stored. */
  onModuleInit(): void {
    this.events.onEnqueued(async (event) => {
      if (!event.message.requireConfirmation) return;
      switch (event.kind) {
        case 'enqueued':
          return this.afterEnqueue(event.message, event.mailbox, event.receivers);
        case 'unreachable':
          // Deactivated between the recipient list's read and the enqueue: nothing will confirm.
          return this.abandon(event.message, event.mailbox, UNREACHABLE);
        case 'failed':
          // Not in the mailbox, so no subscriber would find it: the retry loop puts it there.
          return this.confirmations.schedule(
            event.message.id,
            event.mailbox,
            event.message.priority,
            this.clock.now() + this.config.resilience.retryLeaseMs,
          );
      }
    });
  }

  private get policy(): RetryPolicy {
    const retry = this.config.retry;
    return {
      maxRetries: retry.maxRetries,
      baseDelaySeconds: retry.baseDelaySeconds,
      maxDelaySeconds: retry.maxDelaySeconds,
      exponentialBase: retry.exponentialBase,
      jitter: retry.jitter,
    };
  }

  private get keepFinishedMs(): number {
    return Math.round(this.config.cleanup.confirmationTtlSeconds * 1000);
  }

  /**
   * Claims the next attempt of a delivery that no attempt is under way for (never pushed, or
   * waiting for a subscriber) and schedules its next decision. Returns the claimed attempt,
   * or null when another instance or path took it first.
   */
  private async claimWaiting(
    message: StoredMessage,
    mailbox: string,
  ): Promise<{ attempt: number; redrivenAt: number } | null> {
    const waits = retryDelayTableMs(this.policy);
    const claimed = await this.confirmations.attempt(
      message.id,
      mailbox,
      'first',
      0,
      waits,
      this.clock.now(),
    );
    if (!claimed) return null;
    await this.confirmations.schedule(
      message.id,
      mailbox,
      message.priority,
      this.decisionTime(message, claimed.nextAt),
    );
    return claimed;
  }

  /**
   * After a tracked message was put in `mailbox`: when the push reached a live subscriber it
   * was the first attempt; otherwise the delivery waits for a subscriber (and for its expiry).
   */
  private async afterEnqueue(
    message: StoredMessage,
    mailbox: string,
    receivers: number,
  ): Promise<void> {
    if (receivers > 0 && (await this.claimWaiting(message, mailbox)) !== null) return;
    await this.scheduleExpiry(message, mailbox);
  }

  /**
   * A subscriber of `mailbox` came: deliveries waiting for one are pushed now, each as its
   * next attempt. `alreadyPushed` are ids the subscriber got from its replay.
   */
  async subscriberArrived(
    mailbox: string,
    alreadyPushed: { has(id: string): boolean },
  ): Promise<void> {
    // The ids are read once: a confirmation during the pushes takes its id out of the list,
    // and a page read after it by rank would pass over as many. The pending list holds
    // deliveries under way too: only the recipient's state is read for each, and a message's
    // body only for a delivery that waits.
    const all = await this.confirmations.pendingIds(mailbox, ARRIVAL_SCAN);
    for (let offset = 0; offset < all.length; offset += ARRIVAL_BATCH) {
      const ids = all.slice(offset, offset + ARRIVAL_BATCH);
      const candidates = ids.filter((id) => !alreadyPushed.has(id));
      const records = await Promise.all(
        candidates.map((id) => this.confirmations.findFor(id, mailbox)),
      );
      const waiting = candidates.filter((_, index) => {
        const state = records[index]?.recipients.get(mailbox);
        return state?.status === DeliveryStatus.PENDING && state.waiting;
      });
      for (let at = 0; at < waiting.length; at += ARRIVAL_PUSHES) {
        await Promise.all(
          waiting.slice(at, at + ARRIVAL_PUSHES).map((id) => this.pushWaiting(mailbox, id)),
        );
      }
    }
  }

  /**
   * A subscriber's replay pushes these stored messages: for tracked ones still waiting for a
   * push, this is their next attempt. Returns the attempt number of each message it counted.
   */
  async replayed(mailbox: string, messages: StoredMessage[]): Promise<Map<string, number>> {
    const attempts = new Map<string, number>();
    await Promise.all(
      messages
        .filter((message) => message.requireConfirmation)
        .map(async (message) => {
          const claimed = await this.claimWaiting(message, mailbox);
          if (claimed !== null) attempts.set(message.id, claimed.attempt);
        }),
    );
    return attempts;
  }

  private async pushWaiting(mailbox: string, messageId: string): Promise<void> {
    const message = await this.messages.find(messageId, this.clock.now());
    if (!message) return; // expired or gone: the retry or cleanup loop settles it
    const claimed = await this.claimWaiting(message, mailbox);
    if (claimed === null) return;
    if (claimed.attempt > 1) this.statistics.increment('messagesRetried');
    await this.mailboxes.push(mailbox, pushPayload(message, claimed));
  }

  /** The next decision comes at the retry time, or at expiry if that is sooner. */
  private decisionTime(message: StoredMessage, nextAt: number): number {
    return message.expiresAt === null ? nextAt : Math.min(nextAt, message.expiresAt);
  }

  /**
   * The delivery's expiry decision, unless a decision is due sooner: a subscriber that claimed
   * the first attempt in between has scheduled its retry, which stands.
   */
  private async scheduleExpiry(message: StoredMessage, mailbox: string): Promise<void> {
    if (message.expiresAt !== null) {
      await this.confirmations.scheduleByLatest(
        message.id,
        mailbox,
        message.priority,
        message.expiresAt,
      );
    }
  }

  /** Settles a delivery that can never happen (its mailbox went away during the send). */
  async abandon(message: StoredMessage, mailbox: string, reason: string): Promise<void> {
    try {
      await this.confirmations.abandon(
        message.id,
        mailbox,
        message.priority,
        reason,
        this.keepFinishedMs,
        this.clock.now(),
      );
    } catch (error) {
      this.logger.warn(
        `delivery ${message.id} to ${mailbox} not abandoned: ${(error as Error).message}`,
      );
    }
  }

  /** The recipient confirms: DELIVERED, idempotently. */
  async confirm(mailboxArg: string, messageIdArg: string): Promise<DeliveryConfirmation> {
    const mailbox = assertMailboxName(mailboxArg, 'mailbox');
    const messageId = assertMessageId(messageIdArg, 'messageId');
    const result = await this.confirmations.confirm(
      messageId,
      mailbox,
      this.keepFinishedMs,
      this.clock.now(),
    );
    if (!result) throw new DeliveryNotFoundError(messageId, mailbox);
    // Too late: the message had expired. Its sender is the one the change's script read (with
    // ROUTER_CONFIRMATION_TTL=0 the hash is gone by now).
    if (result.changed && result.state.status === DeliveryStatus.EXPIRED) {
      if (result.sender) await this.tellExpired(result.sender, messageId, mailbox, result.state.n);
    } else if (result.changed) this.statistics.increment('messagesDelivered');
    return toConfirmationModel(messageId, mailbox, result.state);
  }

  /**
   * One confirmation per recipient; empty for an unknown or untracked message. The sender and
   * the admin see every recipient's delivery; a recipient sees its own.
   */
  async status(messageIdArg: string, principal: Principal): Promise<DeliveryConfirmation[]> {
    const messageId = assertMessageId(messageIdArg, 'messageId');
    // A recipient sees its own delivery only: of a tracked broadcast, one field is read.
    const own =
      principal.kind === 'mailbox'
        ? await this.confirmations.findFor(messageId, principal.mailbox)
        : null;
    const record =
      own !== null && !mayActFor(principal, own.sender)
        ? own
        : await this.confirmations.find(messageId);
    if (!record) return [];
    const actsFor = await this.actsFor(principal, messageId);
    const everyone = actsFor(record.sender);
    return [...record.recipients]
      .filter(([mailbox]) => everyone || actsFor(mailbox))
      .map(([mailbox, state]) => toConfirmationModel(messageId, mailbox, state));
  }

  /**
   * For one message: whether the principal acts for a mailbox of it (its sender, a recipient)
   * by name; a mailbox registered after the message (another one, under an old name) does not.
   */
  async actsFor(principal: Principal, messageId: string): Promise<(mailbox: string) => boolean> {
    if (principal.kind === 'admin') return () => true;
    const owns = ownedByName(messageId, await this.mailboxes.registeredAt(principal.mailbox));
    return (mailbox) => owns && mayActFor(principal, mailbox);
  }

  /**
   * The newest `first` dead letters, of one mailbox or of all, with their messages: as many as
   * `reads` lets the operation read the bodies of (the newest always), and a refusal when it
   * can read none.
   */
  async deadLetters(
    mailboxArg: string | null,
    first: number,
    reads: BodyReads | null = null,
    before: DeadLetterPlace | null = null,
  ): Promise<DeadLetter[]> {
    const mailbox = mailboxArg === null ? null : assertMailboxName(mailboxArg, 'mailbox');
    const records = await this.confirmations.deadLetters(mailbox, first, before);
    // A broadcast's message may be dead-lettered by several mailboxes: read it once.
    const ids = [...new Set(records.map((record) => record.messageId))];
    const read = await this.messages.findWithin(ids, reads, this.clock.now());
    if (read.taken === 0 && ids.length > 0 && reads !== null) throw reads.refusal();
    const byId = new Map(read.messages.map((message) => [message.id, message]));
    return newestReadRecords(records, new Set(ids.slice(0, read.taken)))
      .filter((record) => byId.has(record.messageId))
      .map((record) => ({
        message: toMessageModel(byId.get(record.messageId) as StoredMessage),
        mailbox: record.mailbox,
        reason: record.reason,
        attempts: record.attempts,
        deadLetteredAt: new Date(record.deadLetteredAt),
        cursor: formatDeadLetterCursor(record),
      }));
  }

  /** A dead letter gets a fresh count: PENDING again, pushed now if a subscriber is live. */
  async redrive(mailboxArg: string, messageIdArg: string): Promise<DeliveryConfirmation> {
    const mailbox = assertMailboxName(mailboxArg, 'mailbox');
    const messageId = assertMessageId(messageIdArg, 'messageId');
    const letter = await this.confirmations.findDeadLetter(mailbox, messageId);
    const message = await this.messages.find(messageId, this.clock.now());
    if (!letter || !message) throw new NotDeadLetteredError(messageId, mailbox);
    const result = await this.confirmations.redrive(
      message,
      mailbox,
      this.keepFinishedMs,
      this.clock.now(),
    );
    if (!result) throw new NotDeadLetteredError(messageId, mailbox);
    const [online] = await this.mailboxes.online([mailbox]);
    if (online) await this.pushWaiting(mailbox, messageId);
    else await this.scheduleExpiry(message, mailbox);
    const after = await this.confirmations.findFor(messageId, mailbox);
    return toConfirmationModel(messageId, mailbox, after?.recipients.get(mailbox) ?? result.state);
  }

  /**
   * Redrives (`redrive`) or purges (`purgeDeadLetter`) the named dead letters of the mailbox,
   * or with `ids` null its oldest ones, at most MAX_BULK_DEAD_LETTERS per call; returns how
   * many it handled (ids that are not dead letters of the mailbox count for nothing).
   */
  async handleDeadLetters(
    action: 'redrive' | 'purge',
    mailboxArg: string,
    idsArg: string[] | null,
  ): Promise<number> {
    const mailbox = assertMailboxName(mailboxArg, 'mailbox');
    if (idsArg !== null && idsArg.length > MAX_BULK_DEAD_LETTERS) {
      throw new InvalidFieldError(
        'messageIds',
        `${idsArg.length} ids; the limit is ${MAX_BULK_DEAD_LETTERS}`,
        MAX_BULK_DEAD_LETTERS,
      );
    }
    // An id named twice is handled once, and counted once.
    const ids =
      idsArg === null
        ? await this.confirmations.deadLetterIds(mailbox, MAX_BULK_DEAD_LETTERS)
        : [...new Set(idsArg.map((id) => assertMessageId(id, 'messageIds')))];
    let handled = 0;
    for (let index = 0; index < ids.length; index += BULK_BATCH) {
      const results = await Promise.allSettled(
        ids.slice(index, index + BULK_BATCH).map(async (id) => {
          if (action === 'purge') return this.confirmations.purgeDeadLetter(mailbox, id);
          try {
            await this.redrive(mailbox, id);
            return true;
          } catch (error) {
            if (error instanceof NotDeadLetteredError) return false;
            throw error;
          }
        }),
      );
      for (const result of results) if (result.status === 'fulfilled' && result.value) handled += 1;
      const failed = results.find((result) => result.status === 'rejected');
      // Those done before the failure stay done: the refusal says how many, so that the
      // caller does not take it for none.
      if (failed) throw this.bulkFailure(failed.reason, action, handled);
    }
    return handled;
  }

  private bulkFailure(reason: unknown, action: 'redrive' | 'purge', handled: number): AppError {
    const error = asClientError(reason, this.logger, `unexpected error in a bulk ${action}`);
    const done = action === 'redrive' ? 'redriven' : 'purged';
    return new AppError(error.code, `${error.message} (${handled} ${done} before it)`, {
      ...error.details,
      handled,
    });
  }

  /**
   * One run of the retry loop: claims due deliveries (most urgent first) and decides each:
   * finished ones leave the schedule, expired ones turn EXPIRED, exhausted ones FAILED and
   * dead-lettered, the rest are pushed again if a subscriber is live, else wait for one.
   * Returns how many were handled. A backlog (after an outage, say) is taken a batch at a
   * time, each leased from when it is claimed, until none is left or `stopping` says the
   * instance is shutting down: what is left falls to the next run, or another instance.
   * `progress` is called after each batch (JobRunner: a long run is not a stuck one).
   */
  async processDue(
    now = this.clock.now(),
    stopping: () => boolean = () => false,
    progress: () => void = () => undefined,
  ): Promise<number> {
    let handled = 0;
    for (;;) {
      if (stopping()) return handled;
      const lease = this.config.resilience.retryLeaseMs;
      const due = await this.confirmations.claimDue(now, this.clock.now() + lease, CLAIM_BATCH);
      if (due.length === 0) return handled;
      const sizes = await this.messages.sizes(due.map((delivery) => delivery.messageId));
      for (let start = 0; start < due.length;) {
        // As many decisions at once as their bodies allow, and always one.
        let end = start + 1;
        let bytes = sizes[start];
        while (end < due.length && bytes + sizes[end] <= DECISION_BODY_BYTES) {
          bytes += sizes[end];
          end += 1;
        }
        await Promise.all(
          due.slice(start, end).map((delivery) =>
            this.decide(delivery).catch((error: unknown) => {
              // The lease runs out and the delivery falls due again: nothing is lost.
              this.logger.warn(
                `delivery ${delivery.messageId} to ${delivery.mailbox} not decided: ${(error as Error).message}`,
              );
            }),
          ),
        );
        start = end;
      }
      handled += due.length;
      progress();
      if (due.length < CLAIM_BATCH) return handled;
    }
  }

  private async decide({ messageId, mailbox, priority }: DueDelivery): Promise<void> {
    const record = await this.confirmations.findFor(messageId, mailbox);
    const state = record?.recipients.get(mailbox);
    // A failure finished takes its entry off the schedule: one still here stopped before its
    // dead letter (a crash, a Redis failure between the writes), which is filed now.
    if (record && state?.status === DeliveryStatus.FAILED) {
      await this.refileFailure(record, mailbox, state, priority);
      return;
    }
    if (!record || !state || state.status !== DeliveryStatus.PENDING) {
      await this.confirmations.unschedule(messageId, mailbox, priority);
      return;
    }
    const now = this.clock.now();
    const message = await this.messages.find(messageId, now);
    if (!message || isExpired(message, now)) {
      await this.expire(messageId, mailbox, record.sender, record.priority, state);
      return;
    }
    // Never pushed, and not in the mailbox: its send failed there (SendEvents 'failed').
    if (state.waiting && state.n === 0 && !(await this.mailboxes.holds(mailbox, messageId))) {
      await this.enqueueAgain(message, mailbox);
      return;
    }
    // Another instance made the attempt this entry was for (this one's lease lapsed while it
    // decided, say): the decision comes at that attempt's retry time, not now.
    if (!state.waiting && state.next !== undefined && state.next > now) {
      await this.confirmations.schedule(
        messageId,
        mailbox,
        priority,
        this.decisionTime(message, state.next),
      );
      return;
    }
    const policy = this.policy;
    if (!state.waiting && state.n >= maxAttempts(policy)) {
      await this.fail(message, mailbox, state, `not confirmed after ${state.n} attempts`);
      return;
    }
    const [online] = await this.mailboxes.online([mailbox]);
    if (!online) {
      await this.confirmations.waitForSubscriber(
        messageId,
        mailbox,
        priority,
        state.n,
        message.expiresAt,
        this.keepFinishedMs,
        this.clock.now(),
      );
      // A subscriber that came in between found nothing waiting to claim: it gets the push
      // now (the claim makes sure only one caller pushes).
      const [arrived] = await this.mailboxes.online([mailbox]);
      if (arrived) await this.pushWaiting(mailbox, messageId);
      return;
    }
    const mode = state.waiting ? 'first' : 'retry';
    const claimed = await this.confirmations.attempt(
      messageId,
      mailbox,
      mode,
      state.n,
      retryDelayTableMs(policy),
      this.clock.now(),
    );
    if (!claimed) return; // someone else moved it on; their schedule entry stands
    this.statistics.increment('messagesRetried');
    await this.mailboxes.push(mailbox, pushPayload(message, claimed));
    await this.confirmations.schedule(
      messageId,
      mailbox,
      priority,
      this.decisionTime(message, claimed.nextAt),
    );
  }

  /**
   * Puts a tracked message in a mailbox its send could not put it in, as the send would have
   * (not in a mailbox registered again under the name since: the delivery is abandoned); a
   * failure here leaves the schedule entry, which falls due again when its lease lapses.
   */
  private async enqueueAgain(message: StoredMessage, mailbox: string): Promise<void> {
    // A mailbox registered again under the name since is not the one the message was for.
    if (!ownedByName(message.id, await this.mailboxes.registeredAt(mailbox))) {
      await this.abandon(message, mailbox, UNREACHABLE);
      return;
    }
    const outcome = await this.mailboxes.enqueue(
      mailbox,
      message.id,
      message.createdAt,
      toPushPayload(message, 1),
      true,
    );
    if (outcome.kind === 'missing') await this.abandon(message, mailbox, UNREACHABLE);
    // Told as the send would have told it: the delivery goes on (afterEnqueue), and the
    // message is indexed for search in the mailbox.
    else if (outcome.kind === 'delivered')
      await this.events.enqueued({
        message,
        mailbox,
        kind: 'enqueued',
        receivers: outcome.receivers,
      });
    else await this.afterEnqueue(message, mailbox, 0);
  }

  private async refileFailure(
    record: ConfirmationRecord,
    mailbox: string,
    state: RecipientState,
    priority: string,
  ): Promise<void> {
    // An abandoned delivery (its mailbox went away) fails with no dead letter by design. And
    // the state is read again just before filing: a redrive may have come in between.
    if (state.reason === UNREACHABLE) {
      await this.confirmations.unschedule(record.messageId, mailbox, priority);
      return;
    }
    const now = await this.confirmations.findFor(record.messageId, mailbox);
    if (now?.recipients.get(mailbox)?.status !== DeliveryStatus.FAILED) return;
    const reason = state.reason ?? `not confirmed after ${state.n} attempts`;
    const filed = await this.confirmations.refileFailure(
      {
        messageId: record.messageId,
        mailbox,
        reason,
        attempts: state.n,
        deadLetteredAt: this.clock.now(),
      },
      priority,
    );
    if (filed) await this.failed(record.sender, record.messageId, mailbox, reason, state.n);
  }

  /** A delivery failed and its dead letter is filed: counted, and its sender told. */
  private async failed(
    sender: string,
    messageId: string,
    recipient: string,
    reason: string,
    attempts: number,
  ): Promise<void> {
    this.statistics.increment('messagesFailed');
    await this.notices.tell(sender, {
      type: 'delivery.failed',
      messageId,
      recipient,
      reason,
      attempts,
    });
  }

  private async fail(
    message: StoredMessage,
    mailbox: string,
    state: RecipientState,
    reason: string,
  ): Promise<void> {
    const record: DeadLetterRecord = {
      messageId: message.id,
      mailbox,
      reason,
      attempts: state.n,
      deadLetteredAt: this.clock.now(),
    };
    // Told by the call that files the dead letter, this one or a decision that finishes it.
    const filed = await this.confirmations.failAndDeadLetter(
      record,
      message.priority,
      this.keepFinishedMs,
    );
    if (filed) await this.failed(message.sender, message.id, mailbox, reason, state.n);
  }

  /** Marks a delivery EXPIRED and tells the sender; used by the retry and cleanup loops. */
  async expire(
    messageId: string,
    mailbox: string,
    sender: string,
    priority: string,
    state: RecipientState,
  ): Promise<void> {
    const expired = await this.confirmations.expire(
      messageId,
      mailbox,
      priority,
      EXPIRED_UNCONFIRMED,
      this.keepFinishedMs,
      this.clock.now(),
    );
    if (expired) await this.tellExpired(sender, messageId, mailbox, state.n);
  }

  private async tellExpired(sender: string, messageId: string, mailbox: string, attempts: number) {
    await this.notices.tell(sender, {
      type: 'delivery.expired',
      messageId,
      recipient: mailbox,
      reason: EXPIRED_UNCONFIRMED,
      attempts,
    });
  }
}
