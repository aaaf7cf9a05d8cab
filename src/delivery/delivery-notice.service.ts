import { Injectable, Logger } from '@nestjs/common';
import { messageIdTime, newMessageId } from '../messages/message-id';
import { AddressingMode, MessagePriority } from '../messages/message.model';
import type { StoredMessage } from '../messages/stored-message';
import { MessageStore } from '../store/message-store';

/** The sender name of the service's own notices; no mailbox may be registered under it. */
export const NOTICE_SENDER = 'mailbox-router';

export interface DeliveryNotice {
  type: 'delivery.failed' | 'delivery.expired';
  messageId: string;
  recipient: string;
  reason: string;
  attempts: number;
}

/**
 * Tells a sender that a delivery failed or expired, with a short structured message in the
 * sender's own mailbox, so that an agent can re-plan instead of waiting forever. The notice
 * carries the facts in `metadata`, and the original message id as `correlationId`.
 */
@Injectable()
export class DeliveryNoticeService {
  private readonly logger = new Logger(DeliveryNoticeService.name);

  constructor(private readonly store: MessageStore) {}

  async tell(sender: string, notice: DeliveryNotice): Promise<void> {
    const id = newMessageId();
    const message: StoredMessage = {
      id,
      sender: NOTICE_SENDER,
      mode: AddressingMode.DIRECT,
      target: sender,
      content: JSON.stringify(notice),
      contentType: 'application/json',
      subject: `${notice.type}: ${notice.messageId} to ${notice.recipient}`,
      metadata: { ...notice },
      priority: MessagePriority.HIGH,
      createdAt: messageIdTime(id),
      expiresAt: null,
      requireConfirmation: false,
      correlationId: notice.messageId,
      replyTo: null,
      threadId: null,
    };
    const {
      outcomes: [settled],
    } = await this.store.deliver(message, [sender]);
    if (settled.status === 'rejected') throw settled.reason;
    if (settled.value.kind === 'missing') {
      await this.store.erase(message);
      this.logger.debug(
        `${notice.type} notice for ${notice.messageId} dropped: sender ${sender} has no active mailbox`,
      );
    }
  }
}
