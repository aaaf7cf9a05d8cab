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
import {
  SafetyRepository,
  type SenderAnswer,
  type SendGuardRequest,
  type ThreadGuardRequest,
} from './safety.repository';
import { estimateTokens } from './token-estimate';

/** How a send came in. */
export interface AdmitOptions {
  /** The send's idempotencyKey: a resend under a key is no duplicate. */
  idempotencyKey: string | null;
  /** The operator's own post (the admin token): the thread's visit counts start again. */
  byOperator: boolean;
  /**
   * A DIRECT reply to the sender of the message it answers: that sender wrote first, so its
   * contact policy does not refuse the answer.
   */
  answersItsSender?: boolean;
}

/** What a send's guards in Redis are asked: its sender's, and its thread's when it has one. */
export interface SendGuards {
  sender: SendGuardRequest;
  /** Null for a message that starts its own thread: it has no thread state to check yet. */
  thread: ThreadGuardRequest | null;
}

/**
 * The guards every send passes before it is stored: the kill switch (paused mailbox or
 * thread), loops (ROUTER_MAX_HOPS, ROUTER_MAX_VISITS), storms (the pair window, the duplicate
 * guard), the recipient's contact policy and the token budgets. Their state is shared through
 * Redis (one script on the sender's tag, one on the thread's, read together with the
 * recipient's policy; on one node the sends of a turn share the sender's script calls, and a
 * DIRECT send passes its guards in the call that stores it: see `guards`), so every instance
 * enforces the same limits at once.
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
   * What the send's guards in Redis are asked, once the checks that need no Redis have passed
   * (the hop limit is thrown here): for `admit`, or for MessageStore.deliverGuarded, which
   * runs them in the call that stores the send. The recipient's contact policy is the
   * caller's to check (deliverGuarded leaves a send to a mailbox with a policy to admit).
   */
  guards(message: StoredMessage, options: AdmitOptions): SendGuards {
    const sender = this.guardRequest(message, options);
    return { sender, thread: this.threadRequest(message, sender, options) };
  }

  private threadRequest(
    message: StoredMessage,
    sender: SendGuardRequest,
    options: AdmitOptions,
  ): ThreadGuardRequest | null {
    if (message.threadId === message.id) return null;
    return {
      threadId: message.threadId,
      // The recipient a reply goes to, whose visits the guard counts.
      recipient: message.inReplyTo !== null ? sender.recipient : null,
      maxVisits: this.config.safety.maxVisits,
      tokens: sender.tokens,
      reset: options.byOperator,
    };
  }

  /** Counts the tokens of a send the guards admitted, once it is routed. */
  senderAdmitted(request: SendGuardRequest): void {
    this.statistics.increment('tokensSent', request.tokens);
  }

  /** Throws the refusal of a sender's guard that refused a send (and counted nothing). */
  senderRefused(request: SendGuardRequest, answer: [SendGuardCode, number | string]): never {
    const refusal = this.senderRefusal(answer, request);
    if (refusal === null) throw new Error(`the sender's guard admitted ${request.messageId}`);
    throw this.refused(refusal);
  }

  /** Throws the refusal of a thread's guard that refused a send (and counted nothing). */
  threadRefused(
    message: StoredMessage,
    guards: SendGuards,
    answer: [ThreadGuardCode, number],
  ): never {
    const refusal = this.threadRefusal(answer, guards.thread);
    if (refusal === null) throw new Error(`the thread's guard admitted ${message.id}`);
    throw this.refused(refusal, message);
  }

  /**
   * Throws the first refusal; otherwise the send is counted against every limit, and the
   * sender guard's request is returned, for `refund` or, once it is routed, `senderAdmitted`.
   * `guards`: what `guards` built already, for a send that its recipient's contact policy sent
   * back from MessageStore.deliverGuarded to two calls.
   */
  async admit(
    message: StoredMessage,
    options: AdmitOptions,
    guards = this.guards(message, options),
  ): Promise<SendGuardRequest> {
    const { sender: request, thread: threadRequest } = guards;
    const { recipient } = request;
    const policyRefusal = (policy: string[] | null): AppError | null =>
      policy !== null &&
      recipient !== null &&
      options.answersItsSender !== true &&
      !accepts(policy, message.sender)
        ? new ContactPolicyError(recipient)
        : null;
    // Both at once: one round trip. Each guard counts what it admits, so a send that another
    // guard refuses is taken back from the ones that admitted it. An operator's post starts
    // the thread's visit counts again, which no take-back undoes: its thread guard runs only
    // once the sender's guard and the policy have admitted it.
    const [{ guard: sender, policy }, thread] =
      threadRequest?.reset === true
        ? await this.senderThenThread(request, threadRequest, policyRefusal)
        : await Promise.all([
            this.repository.sender(request),
            threadRequest === null ? null : this.repository.threadGuard(threadRequest),
          ]);
    const refusal =
      this.senderRefusal(sender, request) ??
      this.threadRefusal(thread, threadRequest) ??
      policyRefusal(policy);
    // tokensSent is counted once the send is routed (senderAdmitted), not here: a send that
    // routing refuses after the guards counts nowhere.
    if (refusal === null) return request;
    this.refused(refusal, message);
    await this.takeBack(
      sender[0] === SendGuardCode.Admitted ? request : null,
      thread !== null && thread[0] === ThreadGuardCode.Admitted ? threadRequest : null,
    );
    throw refusal;
  }

  /** The sender's guard, then, when it and the policy admit the send, the thread's. */
  private async senderThenThread(
    request: SendGuardRequest,
    threadRequest: ThreadGuardRequest,
    policyRefusal: (policy: string[] | null) => AppError | null,
  ): Promise<[SenderAnswer, [ThreadGuardCode, number] | null]> {
    const first = await this.repository.sender(request);
    const admitted =
      this.senderRefusal(first.guard, request) === null && policyRefusal(first.policy) === null;
    return [first, admitted ? await this.repository.threadGuard(threadRequest) : null];
  }

  /**
   * Takes back what `admit` counted for a send that routing refused after it (its recipient
   * is unknown or inactive, or nobody could answer its request): nothing was sent, so the
   * window, duplicate mark and budgets it took are given back. Best effort, like a refusal's
   * own take-back: an operator's post that started the thread's visit counts again is not
   * undone.
   */
  refund(message: StoredMessage, options: AdmitOptions, request: SendGuardRequest): Promise<void> {
    return this.takeBack(request, this.threadRequest(message, request, options));
  }

  /** Takes back what the sender's guard and the thread's guard counted, best effort. */
  private async takeBack(
    sender: SendGuardRequest | null,
    thread: ThreadGuardRequest | null,
  ): Promise<void> {
    await Promise.all([
      sender === null ? null : this.repository.uncountSend(sender),
      thread === null ? null : this.repository.uncountThread(thread),
    ]).catch(() => undefined);
  }

  /** Counts a guard's refusal, and tells the sender of a loop; returns the refusal. */
  private refused(refusal: AppError, message?: StoredMessage): AppError {
    this.statistics.increment('guardRefusals');
    if (refusal instanceof VisitLimitError && message !== undefined) {
      this.tellLoop(message, 'MAX_VISITS', this.config.safety.maxVisits);
    }
    return refusal;
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
    { sender, recipient, tokens }: SendGuardRequest,
  ): AppError | null {
    const safety = this.config.safety;
    switch (code) {
      case SendGuardCode.Admitted:
        return null;
      case SendGuardCode.Paused:
        return new PausedError('mailbox', sender);
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
    request: ThreadGuardRequest | null,
  ): AppError | null {
    if (answer === null || request === null) return null;
    const [code, detail] = answer;
    switch (code) {
      case ThreadGuardCode.Admitted:
        return null;
      case ThreadGuardCode.Paused:
        return new PausedError('thread', request.threadId);
      case ThreadGuardCode.Loop:
        return new VisitLimitError(request.recipient ?? '', detail);
      case ThreadGuardCode.BudgetExhausted:
        return new BudgetExhaustedError('thread', detail, request.tokens);
    }
  }
}
