import { Injectable, Logger } from '@nestjs/common';
import { messageIdTime, newMessageId } from '../messages/message-id';
import { AddressingMode, MessagePriority } from '../messages/message.model';
import type { MessageEnvelope } from '../messages/message.repository';
import type { StoredMessage } from '../messages/stored-message';
import { NOTICE_SENDER } from '../messages/reserved-names';
import { MessageStore } from '../store/message-store';
import { MailboxRepository } from '../mailboxes/mailbox.repository';
import { ownedByName } from '../messages/messages.service';

export { NOTICE_SENDER };

export interface DeliveryNotice {
  type: 'delivery.failed' | 'delivery.expired';
  messageId: string;
  recipient: string;
  reason: string;
  attempts: number;
}

/** What a requester is told when no reply from the request's target came by its deadline. */
export interface ReplyTimeoutNotice {
  type: 'reply.timeout';
  requestId: string;
  /** The request's target: a mailbox, a topic, or null for a broadcast. */
  target: string | null;
  /** The deadline, ISO 8601. */
  replyBy: string;
}

/** What a sender is told when a reply it tried was refused as a loop (LOOP_DETECTED). */
export interface LoopNotice {
  type: 'loop.detected';
  /** MAX_HOPS or MAX_VISITS. */
  reason: string;
  threadId: string;
  /** The message the refused reply answered. */
  inReplyTo: string;
  /** Whom the refused reply was for. */
  recipient: string | null;
  /** The limit that was reached. */
  limit: number;
}

/**
 * Tells a sender what became of something it sent, with a short structured message in the
 * sender's own mailbox, so that an agent can re-plan instead of waiting forever: a delivery
 * that failed or expired, or a request nobody answered in time. The notice carries the facts
 * in `metadata`, and the original message id as `correlationId`.
 *
 * A notice is stored through MessageStore.deliver like any send, which signs it.
 */
@Injectable()
export class DeliveryNoticeService {
  private readonly logger = new Logger(DeliveryNoticeService.name);

  constructor(
    private readonly store: MessageStore,
    private readonly mailboxes: MailboxRepository,
  ) {}

  /**
   * Whether `mailbox` is the one that sent `messageId`: not a mailbox registered again under
   * its name since, which must not be told of the old one's messages (ownedByName).
   */
  private async stillSender(mailbox: string, messageId: string): Promise<boolean> {
    if (ownedByName(messageId, await this.mailboxes.registeredAt(mailbox))) return true;
    this.logger.debug(`notice about ${messageId} dropped: ${mailbox} is not its sender any more`);
    return false;
  }

  async tell(sender: string, notice: DeliveryNotice): Promise<void> {
    if (!(await this.stillSender(sender, notice.messageId))) return;
    const id = newMessageId();
    await this.deliver({
      ...this.noticeTo(sender, id),
      content: JSON.stringify(notice),
      subject: `${notice.type}: ${notice.messageId} to ${notice.recipient}`,
      metadata: { ...notice },
      correlationId: notice.messageId,
      threadId: id,
    });
  }

  /**
   * Tells a sender that its reply was refused as a loop, in its own mailbox as well as in the
   * answer: an agent that acts on its inbox (not on its call's result) still learns of it.
   */
  async loopDetected(sender: string, notice: LoopNotice): Promise<void> {
    const id = newMessageId();
    await this.deliver({
      ...this.noticeTo(sender, id),
      content: JSON.stringify(notice),
      subject: `${notice.type}: thread ${notice.threadId} (${notice.reason})`,
      metadata: { ...notice },
      correlationId: notice.inReplyTo,
      threadId: id,
    });
  }

  /**
   * Tells the sender of `request` that no reply came by its deadline. The notice joins the
   * request's thread as a reply to it. With an `id` that every attempt derives alike, a
   * repeated call stores and delivers nothing twice. Resolves true when this call put the
   * notice in the requester's mailbox; false when it was there already, or when the
   * requester has no active mailbox any more (the notice is then dropped).
   */
  async replyTimedOut(request: MessageEnvelope, id = newMessageId()): Promise<boolean> {
    if (request.replyBy === null) throw new Error(`message ${request.id} is not a request`);
    if (!(await this.stillSender(request.sender, request.id))) return false;
    const notice: ReplyTimeoutNotice = {
      type: 'reply.timeout',
      requestId: request.id,
      target: request.target,
      replyBy: new Date(request.replyBy).toISOString(),
    };
    return this.deliver({
      ...this.noticeTo(request.sender, id),
      content: JSON.stringify(notice),
      subject: `${notice.type}: ${request.id} to ${request.target ?? 'every mailbox'}`,
      metadata: { ...notice },
      correlationId: request.id,
      threadId: request.threadId,
      inReplyTo: request.id,
      hop: request.hop + 1,
    });
  }

  private noticeTo(sender: string, id: string): StoredMessage {
    return {
      id,
      sender: NOTICE_SENDER,
      mode: AddressingMode.DIRECT,
      target: sender,
      content: '',
      contentType: 'application/json',
      subject: null,
      metadata: null,
      priority: MessagePriority.HIGH,
      createdAt: messageIdTime(id),
      expiresAt: null,
      requireConfirmation: false,
      correlationId: null,
      replyTo: null,
      threadId: id,
      inReplyTo: null,
      replyBy: null,
      hop: 0,
    };
  }

  /** Resolves true when the notice newly reached the mailbox it is addressed to. */
  private async deliver(notice: StoredMessage): Promise<boolean> {
    const mailbox = notice.target as string;
    const {
      own,
      outcomes: [settled],
    } = await this.store.deliver(notice, [mailbox]);
    if (settled.status === 'rejected') throw settled.reason;
    if (settled.value.kind === 'missing') {
      // Only what this call wrote: an earlier attempt's notice may sit in the mailbox's index.
      if (own) await this.store.erase(notice);
      this.logger.debug(
        `${notice.subject} notice dropped: sender ${mailbox} has no active mailbox`,
      );
      return false;
    }
    return settled.value.kind === 'delivered';
  }
}
