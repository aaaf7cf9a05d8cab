import { hash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { AppError } from '../common/app-error';
import { Clock } from '../common/clock';
import { AppConfigService } from '../config/app-config.service';
import { DeliveryNoticeService } from '../delivery/delivery-notice.service';
import { AddressingMode } from '../messages/message.model';
import { StatisticsService } from '../metrics/statistics.service';
import { contentDigest } from '../provenance/message-signature';
import type { StoredMessage } from '../messages/stored-message';
import { SendGuardCode, ThreadGuardCode } from '../redis/script-codes';
import { accepts } from './contact-policy';
import {
  BudgetExhaustedError,
  ContactPolicyError,
  DuplicateError,
  HopLimitError,
  PairRateLimitedError,
  PausedError,
  VisitLimitError,
} from './safety.errors';
import { SafetyRepository, type SendGuardRequest } from './safety.repository';
import { estimateTokens } from './token-estimate';

/** How a send came in. */
export interface AdmitOptions {
  /** The send's idempotencyKey: a resend under a key is no duplicate. */
  idempotencyKey: string | null;
  /** The operator's own post (the admin token): the thread's visit counts start again. */
  byOperator: boolean;
}

/**
 * The guards every send passes before it is stored: the kill switch (paused mailbox or
 * thread), loops (ROUTER_MAX_HOPS, ROUTER_MAX_VISITS), storms (the pair window, the duplicate
 * guard), the recipient's contact policy and the token budgets. Their state is shared through
 * Redis (one script on the sender's tag, one on the thread's, read together with the
 * recipient's policy; on one node the sends of a turn share the sender's script calls, and a
 * send with no guard but its sender's passes it in the call that stores it: see
 * soleSenderGuard), so every instance enforces the same limits at once.
 */
@Injectable()
export class SafetyService {
  constructor(
    private readonly config: AppConfigService,
    private readonly repository: SafetyRepository,
    private readonly statistics: StatisticsService,
    private readonly notices: DeliveryNoticeService,
    private readonly clock: Clock,
  ) {}

  private readonly logger = new Logger(SafetyService.name);

  /**
   * The sender guard's request for a send, once the checks that need no Redis have passed:
   * the hop limit is thrown here, as admit throws it.
   */
  private guardRequest(message: StoredMessage, options: AdmitOptions): SendGuardRequest {
    const safety = this.config.safety;
    if (message.hop > safety.maxHops) {
      this.statistics.increment('guardRefusals');
      this.tellLoop(message, 'MAX_HOPS', safety.maxHops);
      throw new HopLimitError(message.hop, safety.maxHops);
    }
    const recipient = message.mode === AddressingMode.DIRECT ? message.target : null;
    // The body is hashed once a send: its digest serves the duplicate guard's, and the
    // signature (MessageStore.deliverGuarded).
    const digest = contentDigest(message.content);
    return {
      sender: message.sender,
      recipient,
      messageId: message.id,
      contentDigest: digest,
      digest: hash('sha256', `${recipient ?? ''}\u0000${digest}`),
      now: this.clock.now(),
      pairLimitPerMinute: safety.pairRateLimitPerMinute,
      duplicateWindowMs: options.idempotencyKey === null ? safety.duplicateWindowMs : 0,
      tokens: estimateTokens(message.content, message.metadata),
      defaultDailyBudget: safety.dailyTokenBudget,
    };
  }

  /**
   * The sender guard's request when it is the only guard a send has to pass in Redis: it
   * starts its own thread (no thread state to check). Null otherwise: admit checks it. The
   * recipient's contact policy is the caller's to check (MessageStore.deliverGuarded leaves
   * a send to a mailbox with a policy to admit).
   */
  soleSenderGuard(message: StoredMessage, options: AdmitOptions): SendGuardRequest | null {
    return message.threadId === message.id ? this.guardRequest(message, options) : null;
  }

  /** Counts the tokens of a send the guards admitted, once it is routed. */
  senderAdmitted(request: SendGuardRequest): void {
    this.statistics.increment('tokensSent', request.tokens);
  }

  /** Throws the refusal of a sender's guard that refused a send (and counted nothing). */
  senderRefused(request: SendGuardRequest, answer: [SendGuardCode, number | string]): never {
    const refusal = this.senderRefusal(answer, request.sender, request.recipient, request.tokens);
    if (refusal === null) throw new Error(`the sender's guard admitted ${request.messageId}`);
    this.statistics.increment('guardRefusals');
    throw refusal;
  }

  /**
   * Throws the first refusal; otherwise the send is counted against every limit, and the
   * sender guard's request is returned, for `refund` or, once it is routed, `senderAdmitted`.
   * `request`: the sender guard's request soleSenderGuard built already, for a send that its
   * recipient's contact policy sent back to two calls.
   */
  async admit(
    message: StoredMessage,
    options: AdmitOptions,
    request = this.guardRequest(message, options),
  ): Promise<SendGuardRequest> {
    const safety = this.config.safety;
    const { recipient, tokens } = request;
    const replyTo = repliedTo(message, request);
    // A message that starts its own thread has no thread state to check yet.
    const inThread = message.threadId !== message.id;
    // Both at once: one round trip. Each guard counts what it admits, so a send that another
    // guard refuses is taken back from the ones that admitted it.
    const [{ guard: sender, policy }, thread] = await Promise.all([
      this.repository.sender(request),
      inThread
        ? this.repository.threadGuard(
            message.threadId,
            replyTo,
            safety.maxVisits,
            tokens,
            options.byOperator,
          )
        : null,
    ]);
    const refusal =
      this.senderRefusal(sender, message.sender, recipient, tokens) ??
      this.threadRefusal(thread, message.threadId, replyTo, tokens) ??
      (policy !== null && recipient !== null && !accepts(policy, message.sender)
        ? new ContactPolicyError(recipient)
        : null);
    // tokensSent is counted once the send is routed (senderAdmitted), not here: a send that
    // routing refuses after the guards counts nowhere.
    if (refusal === null) return request;
    this.statistics.increment('guardRefusals');
    if (refusal instanceof VisitLimitError) this.tellLoop(message, 'MAX_VISITS', safety.maxVisits);
    await this.takeBack(
      message,
      options,
      request,
      sender[0] === SendGuardCode.Admitted,
      thread !== null && thread[0] === ThreadGuardCode.Admitted,
    );
    throw refusal;
  }

  /**
   * Takes back what `admit` counted for a send that routing refused after it (its recipient
   * is unknown or inactive, or nobody could answer its request): nothing was sent, so the
   * window, duplicate mark and budgets it took are given back. Best effort, like a refusal's
   * own take-back: an operator's post that started the thread's visit counts again is not
   * undone.
   */
  refund(message: StoredMessage, options: AdmitOptions, request: SendGuardRequest): Promise<void> {
    return this.takeBack(message, options, request, true, message.threadId !== message.id);
  }

  /** Takes back what the sender's guard and the thread's guard counted, best effort. */
  private async takeBack(
    message: StoredMessage,
    options: AdmitOptions,
    request: SendGuardRequest,
    sender: boolean,
    thread: boolean,
  ): Promise<void> {
    await Promise.all([
      sender ? this.repository.uncountSend(request) : null,
      thread
        ? this.repository.uncountThread(
            message.threadId,
            repliedTo(message, request),
            request.tokens,
            options.byOperator,
          )
        : null,
    ]).catch(() => undefined);
  }

  /** The loop notice to the sender, best effort and not waited for: the refusal is the answer. */
  private tellLoop(message: StoredMessage, reason: string, limit: number): void {
    if (message.inReplyTo === null) return;
    this.notices
      .loopDetected(message.sender, {
        type: 'loop.detected',
        reason,
        threadId: message.threadId,
        inReplyTo: message.inReplyTo,
        recipient: message.target,
        limit,
      })
      .catch((error: unknown) => {
        this.logger.warn(`loop notice to ${message.sender} not sent: ${(error as Error).message}`);
      });
  }

  private senderRefusal(
    [code, detail]: [SendGuardCode, number | string],
    name: string,
    recipient: string | null,
    tokens: number,
  ): AppError | null {
    const safety = this.config.safety;
    switch (code) {
      case SendGuardCode.Admitted:
        return null;
      case SendGuardCode.Paused:
        return new PausedError('mailbox', name);
      case SendGuardCode.PairLimited:
        return new PairRateLimitedError(
          recipient ?? '',
          safety.pairRateLimitPerMinute,
          Number(detail),
        );
      case SendGuardCode.Duplicate:
        return new DuplicateError(recipient ?? '', String(detail), safety.duplicateWindowMs / 1000);
      case SendGuardCode.BudgetExhausted:
        return new BudgetExhaustedError('mailbox', Number(detail), tokens);
    }
  }

  private threadRefusal(
    answer: [ThreadGuardCode, number] | null,
    threadId: string,
    replyTo: string | null,
    tokens: number,
  ): AppError | null {
    if (answer === null) return null;
    const [code, detail] = answer;
    switch (code) {
      case ThreadGuardCode.Admitted:
        return null;
      case ThreadGuardCode.Paused:
        return new PausedError('thread', threadId);
      case ThreadGuardCode.Loop:
        return new VisitLimitError(replyTo ?? '', detail);
      case ThreadGuardCode.BudgetExhausted:
        return new BudgetExhaustedError('thread', detail, tokens);
    }
  }
}

/** The recipient a reply goes to, which the thread guard counts visits of; null for a send. */
function repliedTo(message: StoredMessage, request: SendGuardRequest): string | null {
  return message.inReplyTo !== null ? request.recipient : null;
}
