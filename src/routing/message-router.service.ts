import { Injectable, Logger } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { AppConfigService } from '../config/app-config.service';
import { MailboxRepository, type EnqueueOutcome } from '../mailboxes/mailbox.repository';
import { MailboxNotFoundError } from '../mailboxes/mailbox.errors';
import { PresenceService } from '../mailboxes/presence.service';
import { MessageRepository } from '../messages/message.repository';
import { newMessageId } from '../messages/message-id';
import { AddressingMode } from '../messages/message.model';
import {
  enrich,
  scopeError,
  validateSendInput,
  type CheckedSend,
} from '../messages/message-validation';
import type { SendMessageInput } from '../messages/send-message.input';
import type { StoredMessage } from '../messages/stored-message';
import { TopicRepository } from '../topics/topic.repository';
import { IdempotencyRepository } from './idempotency.repository';
import { RouteStatus, type RouteResult } from './route-result.model';
import { BatchTooLargeError, StoreUnavailableError } from './routing.errors';

export const MAX_BATCH = 100;

function result(
  messageId: string,
  status: RouteStatus,
  recipients: number,
  error: AppError | null = null,
): RouteResult {
  return {
    messageId,
    status,
    recipients,
    error: error?.message ?? null,
    errorCode: error?.code ?? null,
  };
}

/** Failures that are Redis's, not the caller's, become SERVICE_UNAVAILABLE. */
function asAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new StoreUnavailableError(error instanceof Error ? error.message : String(error));
}

/**
 * The seed's MessageRouter: validates, enriches and routes a message by its addressing mode.
 *
 * Writes are ordered for crash safety: the message hash first, then each recipient's index
 * entry and live push in one script per recipient. A crash between steps acknowledges
 * nothing, and a resend with the same idempotencyKey completes the missing steps without
 * pushing anything twice.
 */
@Injectable()
export class MessageRouterService {
  private readonly logger = new Logger(MessageRouterService.name);

  constructor(
    private readonly config: AppConfigService,
    private readonly messages: MessageRepository,
    private readonly mailboxes: MailboxRepository,
    private readonly topics: TopicRepository,
    private readonly idempotency: IdempotencyRepository,
    private readonly presence: PresenceService,
  ) {}

  /** Routes one message; a refusal is thrown as an AppError whose field reads `input.*`. */
  async route(input: SendMessageInput): Promise<RouteResult> {
    try {
      return await this.routeChecked(validateSendInput(input, this.config.limits));
    } catch (error) {
      throw asAppError(scopeError(error, 'input'));
    }
  }

  /**
   * Routes up to MAX_BATCH messages concurrently; each is validated on its own and a failure
   * becomes a FAILED result in its place. Concurrent sends share Redis round trips through
   * auto-pipelining, so a batch costs about as many round trips as a single send.
   */
  async routeMany(inputs: SendMessageInput[]): Promise<RouteResult[]> {
    if (inputs.length > MAX_BATCH) throw new BatchTooLargeError(inputs.length, MAX_BATCH);
    const limits = this.config.limits;
    return Promise.all(
      inputs.map(async (input, index) => {
        try {
          const checked = validateSendInput(input, limits);
          return await this.routeChecked(checked);
        } catch (error) {
          const failure = asAppError(scopeError(error, `inputs[${index}]`));
          return result('', RouteStatus.FAILED, 0, failure);
        }
      }),
    );
  }

  private async routeChecked(checked: CheckedSend): Promise<RouteResult> {
    let message = enrich(checked, newMessageId());
    this.presence.seen(message.sender);
    if (checked.idempotencyKey !== null) {
      const owner = await this.idempotency.claim(
        message.sender,
        checked.idempotencyKey,
        message.id,
      );
      if (owner !== message.id) {
        // A repeat: complete whatever the first send left undone, from what it stored.
        message = (await this.messages.find(owner)) ?? enrich(checked, owner);
      }
    }
    const written = await this.messages.store(message);
    const payload = JSON.stringify(message);
    switch (message.mode) {
      case AddressingMode.DIRECT:
        return this.routeDirect(message, payload, written);
      case AddressingMode.BROADCAST:
        return this.routeBroadcast(message, payload);
      case AddressingMode.TOPIC:
        return this.routeTopic(message, payload);
    }
  }

  private async routeDirect(
    message: StoredMessage,
    payload: string,
    written: boolean,
  ): Promise<RouteResult> {
    const target = message.target as string;
    const outcome = await this.mailboxes.enqueue(target, message.id, message.createdAt, payload);
    if (outcome.kind === 'missing') {
      // Checking the target inside the enqueue script saves a round trip on every send; the
      // price is removing the hash this call wrote when the target turns out to be missing.
      if (written) await this.messages.remove(message.id);
      throw new MailboxNotFoundError(target, 'target', 'is not registered or not active');
    }
    return result(message.id, this.liveStatus([outcome]), 1);
  }

  private async routeBroadcast(message: StoredMessage, payload: string): Promise<RouteResult> {
    const names = (await this.mailboxes.activeNames()).filter((name) => name !== message.sender);
    const settled = await Promise.allSettled(
      names.map((name) => this.mailboxes.enqueue(name, message.id, message.createdAt, payload)),
    );
    const outcomes: EnqueueOutcome[] = [];
    const failures: string[] = [];
    settled.forEach((entry, index) => {
      if (entry.status === 'fulfilled') outcomes.push(entry.value);
      else failures.push(`${names[index]}: ${(entry.reason as Error).message}`);
    });
    const reached = outcomes.filter((outcome) => outcome.kind !== 'missing');
    if (failures.length === 0) return result(message.id, this.liveStatus(reached), reached.length);
    this.logger.warn(
      `broadcast ${message.id} failed for ${failures.length} of ${names.length} recipients`,
    );
    const error = new StoreUnavailableError(
      `${failures.length} of ${names.length} recipients failed, first: ${failures[0]}`,
    );
    return result(
      message.id,
      reached.length > 0 ? RouteStatus.PARTIAL : RouteStatus.FAILED,
      reached.length,
      error,
    );
  }

  private async routeTopic(message: StoredMessage, payload: string): Promise<RouteResult> {
    const receivers = await this.topics.append(
      message.target as string,
      message.id,
      message.createdAt,
      payload,
    );
    return result(
      message.id,
      receivers !== null && receivers > 0 ? RouteStatus.SUCCESS : RouteStatus.QUEUED,
      0,
    );
  }

  private liveStatus(outcomes: EnqueueOutcome[]): RouteStatus {
    const live = outcomes.some((outcome) => outcome.kind === 'delivered' && outcome.receivers > 0);
    return live ? RouteStatus.SUCCESS : RouteStatus.QUEUED;
  }
}
