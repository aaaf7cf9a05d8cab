import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { asClientError } from '../common/client-error';
import { Clock } from '../common/clock';
import { AppConfigService } from '../config/app-config.service';
import { StatisticsService } from '../metrics/statistics.service';
import { MailboxRepository, type EnqueueOutcome } from '../mailboxes/mailbox.repository';
import { MailboxNotFoundError } from '../mailboxes/mailbox.errors';
import { PresenceService } from '../mailboxes/presence.service';
import { MessageRepository, type MessageEnvelope } from '../messages/message.repository';
import { isMessageId, messageIdTime, newMessageId } from '../messages/message-id';
import { AddressingMode } from '../messages/message.model';
import {
  enrich,
  scopeError,
  validateSendInput,
  type CheckedSend,
  type ReplyContext,
} from '../messages/message-validation';
import type { SendMessageInput } from '../messages/send-message.input';
import { toPushPayload, type StoredMessage } from '../messages/stored-message';
import { MessageStore, type Delivered } from '../store/message-store';
import { TopicRepository } from '../topics/topic.repository';
import { IdempotencyRepository } from './idempotency.repository';
import { RouteStatus, type RouteResult } from './route-result.model';
import { OutageQueueService } from './outage-queue.service';
import type { QueuedSend } from './outage-queue';
import {
  AnsweredNotFoundError,
  BatchTooLargeError,
  MAX_BATCH,
  NoResponderError,
  NotARecipientError,
  NotInThreadError,
  StoreUnavailableError,
  ThreadMismatchError,
} from './routing.errors';
import { classifyRedisFailure, publicReason, refusesWrites } from '../redis/redis.errors';
import { RedisTopology } from '../redis/redis-topology.service';
import { ownedByName } from '../messages/messages.service';
import type { SendGuardRequest } from '../safety/safety.repository';
import { SafetyService, type SendGuards } from '../safety/safety.service';

/** A message's times under another id: createdAt is always the id's own timestamp. */
function timesOf(
  id: string,
  message: StoredMessage,
): Pick<StoredMessage, 'createdAt' | 'expiresAt'> {
  const createdAt = messageIdTime(id);
  const ttl = message.expiresAt === null ? null : message.expiresAt - message.createdAt;
  return { createdAt, expiresAt: ttl === null ? null : createdAt + ttl };
}

function result(
  message: StoredMessage | null,
  status: RouteStatus,
  recipients: number,
  error: AppError | null = null,
): RouteResult {
  return {
    messageId: message?.id ?? '',
    threadId: message?.threadId ?? null,
    status,
    recipients,
    error: error?.message ?? null,
    errorCode: error?.code ?? null,
  };
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
export class MessageRouterService implements OnModuleInit {
  private readonly logger = new Logger(MessageRouterService.name);

  constructor(
    private readonly config: AppConfigService,
    private readonly messages: MessageRepository,
    private readonly store: MessageStore,
    private readonly mailboxes: MailboxRepository,
    private readonly topics: TopicRepository,
    private readonly idempotency: IdempotencyRepository,
    private readonly presence: PresenceService,
    private readonly statistics: StatisticsService,
    private readonly outage: OutageQueueService,
    private readonly topology: RedisTopology,
    private readonly safety: SafetyService,
    private readonly clock: Clock,
  ) {}

  /** Sends accepted during a Redis outage and not yet in Redis (for metrics and health). */
  get queuedLocally(): number {
    return this.outage.size;
  }

  onModuleInit(): void {
    this.outage.attach({
      // A queued timely reply stops its request's deadline as it is stored; a send admitted
      // by the guards before it was queued settles what they counted. A send the queue drops
      // gives both back.
      store: async (send) => {
        if (send.answers) await this.store.answered(send.answers);
        await this.settleGuards(
          send,
          this.count(await this.routeDurably(send.message, send.idempotencyKey)),
        );
      },
      discard: async (send) => {
        await this.giveBack(send);
        await this.discard(send.message);
      },
    });
  }

  /**
   * Routes one message; a refusal is thrown as an AppError whose field reads `input.*`.
   * `byOperator`: sent with the admin token, which starts a thread's loop counts again.
   */
  async route(input: SendMessageInput, byOperator = false): Promise<RouteResult> {
    try {
      return await this.send(validateSendInput(input, this.config.limits), byOperator);
    } catch (error) {
      throw this.countFailure(this.failure(scopeError(error, 'input')));
    }
  }

  /**
   * Sends a checked message now, or, while Redis cannot be reached (or earlier sends still
   * wait), accepts it into the local queue and answers QUEUED. A send that fails half-way on
   * a transient Redis failure is queued as well: its writes are idempotent by message id, so
   * the flush completes what is missing without storing or pushing anything twice. A send
   * that Redis refuses for good (out of memory, a wrong key type) is refused now and never
   * queued: waiting would not change the answer, and the sender can act on a refusal (see
   * OutageQueueService for what happens to sends queued before). Refusals are thrown. A send
   * queued behind earlier ones while Redis answers passes its guards first; only a send
   * accepted while Redis cannot be reached passes unguarded.
   */
  private async send(given: CheckedSend, byOperator: boolean): Promise<RouteResult> {
    // A send that answers nothing reads nothing first, and waits for nothing here.
    // A send that names a message's thread, and only such a send, reads first whether it may
    // write in it. While Redis cannot be reached, queued sends pass unchecked, as they pass
    // unguarded.
    const { threadId, inReplyTo } = given.message;
    if (
      threadId !== null &&
      inReplyTo === null &&
      !byOperator &&
      isMessageId(threadId) &&
      !(this.outage.mustQueue && !this.outage.reachable)
    ) {
      await this.mayJoin(given.message.sender, threadId);
    }
    const { checked, reply, answers, answersItsSender } =
      given.message.inReplyTo === null
        ? { checked: given, reply: null, answers: null, answersItsSender: false }
        : await this.conversation(given, given.message.inReplyTo);
    const message = enrich(checked, newMessageId(), reply);
    const refusal = this.outage.storeRefusal;
    if (refusal) throw refusal;
    const queued: QueuedSend = {
      message,
      idempotencyKey: checked.idempotencyKey,
      answers: answers === null ? null : { id: answers.id, replyBy: answers.replyBy },
    };
    // While Redis cannot be reached, the guards cannot be asked: queued sends pass unchecked.
    // While it can and earlier sends still wait, a send is guarded first, then queued.
    if (this.outage.mustQueue && !this.outage.reachable) return this.queueLocally(queued);
    const options = { idempotencyKey: checked.idempotencyKey, byOperator, answersItsSender };
    // A repeat of a keyed send whose message is stored is that send, answered again (and
    // completed, should the first have stopped half-way): its guards admitted and counted it
    // once, and a repeat, say after a lost answer, is neither counted again nor refused what
    // the first was given. A key whose first send stored nothing (it was refused after the
    // claim, or stopped before the store) is no such proof: that send passes the guards.
    let repeat: boolean;
    try {
      repeat = await this.repeatsStoredSend(message.sender, checked.idempotencyKey);
    } catch (error) {
      return this.queuedOnFailure(queued, error, 'its key');
    }
    if (repeat) {
      if (this.outage.mustQueue) return this.queueBehind(queued);
      if (queued.answers) await this.store.answered(queued.answers);
      return this.routeRepeat(queued);
    }
    // A DIRECT send without a key, and no reply that stops a request's deadline, passes its
    // guards in the same call that stores it, where one node holds every key.
    const guards =
      answers === null &&
      checked.idempotencyKey === null &&
      !this.outage.mustQueue &&
      this.store.guardsInOneStep(message)
        ? this.safety.guards(message, options)
        : null;
    if (guards !== null) {
      // Null when the recipient has a contact policy: the send takes two calls.
      const routed = await this.routeGuarded(message, guards);
      if (routed !== null) return routed;
    }
    let admitted: SendGuardRequest;
    try {
      // The guards' requests already built (token estimate, digest) serve the two calls too.
      admitted = await this.safety.admit(message, options, guards ?? undefined);
    } catch (error) {
      // The guards' Redis failing on the way is an outage like any other: the send is queued
      // and stored later, unguarded, like the sends accepted while Redis is away.
      return this.queuedOnFailure(queued, error, 'the guards');
    }
    // What the guards counted goes with the send, should it be queued: given back if the
    // queue drops it, or it turns out a repeat.
    const guarded: QueuedSend = { ...queued, guarded: { request: admitted, byOperator } };
    // Admitted while earlier sends wait (they may have come in meanwhile): it waits its turn.
    if (this.outage.mustQueue) return this.queueBehind(guarded);
    // A timely reply stops the request's deadline before it is routed, so that a sweep at the
    // deadline cannot tell the requester of a timeout while the reply is on its way; a
    // refused reply gives the deadline back. Inside the try: should Redis fail here, the send
    // fails or queues as a failed route does, its guards' counts going with it.
    try {
      if (queued.answers) await this.store.answered(queued.answers);
      const routed = this.count(await this.routeDurably(message, checked.idempotencyKey));
      await this.settleGuards(guarded, routed);
      return routed;
    } catch (error) {
      if (queued.answers && !(this.outage.classify(error) === 'transient')) {
        await this.store.reopen(queued.answers).catch(() => undefined);
      }
      // A refusal (no such recipient, nobody to answer a request) sent nothing: the guards
      // take back what they counted for it.
      if (error instanceof MailboxNotFoundError || error instanceof NoResponderError) {
        await this.safety.refund(message, options, admitted);
      }
      return this.routeFailed(guarded, error);
    }
  }

  /**
   * A send that the guards admitted, once routed: one that turned out a repeat (another send
   * with its key claimed the key first) takes back what its guards counted; else its tokens
   * count as sent.
   */
  private async settleGuards(send: QueuedSend, routed: RouteResult): Promise<void> {
    if (!send.guarded) return;
    const { request, byOperator } = send.guarded;
    if (routed.messageId === send.message.id) this.safety.senderAdmitted(request);
    else
      await this.safety.refund(
        send.message,
        { idempotencyKey: send.idempotencyKey, byOperator },
        request,
      );
  }

  /**
   * Undoes what a send that is not stored after all did before: its timely reply's stop of
   * the request's deadline, and what its guards counted. Best effort.
   */
  private async giveBack(send: QueuedSend): Promise<void> {
    await Promise.all([
      send.answers ? this.store.reopen(send.answers).catch(() => undefined) : null,
      send.guarded
        ? this.safety.refund(
            send.message,
            { idempotencyKey: send.idempotencyKey, byOperator: send.guarded.byOperator },
            send.guarded.request,
          )
        : null,
    ]);
  }

  /**
   * A Redis failure on a step before the send's routing (`step` names it): a transient one
   * queues the send, unguarded, like the sends accepted while Redis is away; any other is
   * thrown.
   */
  private queuedOnFailure(send: QueuedSend, error: unknown, step: string): RouteResult {
    if (error instanceof AppError || this.outage.classify(error) !== 'transient') throw error;
    this.logger.warn(
      `send ${send.message.id}: ${step} hit a Redis failure (${(error as Error).message}): queued locally`,
    );
    return this.queueLocally(send);
  }

  /** Whether the sender's key names a send whose message is stored (and unexpired). */
  private async repeatsStoredSend(sender: string, key: string | null): Promise<boolean> {
    if (key === null) return false;
    const owner = await this.idempotency.owner(sender, key);
    return owner !== null && (await this.messages.envelopes([owner]))[0] !== null;
  }

  /** A repeat of a keyed send: the first send's result, completed where it stopped. */
  private async routeRepeat(repeat: QueuedSend): Promise<RouteResult> {
    try {
      return this.count(await this.routeDurably(repeat.message, repeat.idempotencyKey));
    } catch (error) {
      return this.routeFailed(repeat, error);
    }
  }

  /**
   * A send's guards and routing in one call (MessageStore.deliverGuarded); null when the
   * recipient has a contact policy and nothing was done.
   */
  private async routeGuarded(
    message: StoredMessage,
    guards: SendGuards,
  ): Promise<RouteResult | null> {
    const guard = guards.sender;
    try {
      const epoch = this.topology.writeEpoch();
      this.presence.seen(message.sender);
      const answer = await this.store.deliverGuarded(message, guard, guards.thread);
      if (answer.kind === 'policy') return null;
      if (answer.kind === 'refused') this.safety.senderRefused(guard, answer.guard);
      if (answer.kind === 'thread-refused') {
        this.safety.threadRefused(message, guards, answer.guard);
      }
      // A send to a missing recipient is thrown here, uncounted: guarded-send.lua checks the
      // recipient before the sender's guard.
      const routed = this.directResult(message, answer.delivered, null, false);
      const result = routed instanceof Promise ? await routed : routed;
      this.safety.senderAdmitted(guard);
      await this.topology.confirmReplicated(epoch);
      return this.count(result);
    } catch (error) {
      return this.routeFailed({ message, idempotencyKey: null }, error);
    }
  }

  /**
   * A send that failed on its way to Redis: a refusal is thrown; a transient Redis failure
   * queues the send locally (its writes are idempotent by message id, so the flush completes
   * what is missing).
   */
  private async routeFailed(send: QueuedSend, error: unknown): Promise<RouteResult> {
    if (error instanceof AppError) throw error;
    const { message } = send;
    const kind = this.outage.classify(error);
    if (kind === 'transient') {
      this.logger.warn(
        `send ${message.id} hit a Redis failure (${(error as Error).message}): queued locally`,
      );
      const repeat = this.queuedRepeat(send);
      if (repeat) {
        // The earlier send with its key counted what its guards admitted.
        await this.giveBack(send);
        return repeat;
      }
      try {
        return this.queueLocally(send);
      } catch (full) {
        await this.giveBack(send);
        throw full;
      }
    }
    // Refused writes wrote nothing in the step that failed (Redis refuses a script at its
    // first write), so only this send's earlier steps are undone. Any other refusal may
    // have failed a script half-way, after its push: nothing is removed on a guess.
    if (kind === 'permanent' && refusesWrites(error)) await this.discard(message);
    throw error;
  }

  /**
   * A send that names a thread without answering anything: a thread named by a stored
   * message's id is that message's, and only a mailbox that may answer the message may write
   * in it (its sender, a mailbox that holds it, anyone for a topic message), as a reply may.
   * Other thread ids (a label the agents chose, an id that names no stored message) are open.
   * The operator writes in any thread.
   */
  private async mayJoin(sender: string, threadId: string): Promise<void> {
    let first: MessageEnvelope | null;
    let held: boolean;
    try {
      [[first], held] = await Promise.all([
        this.messages.envelopes([threadId]),
        this.mailboxes.holds(sender, threadId),
      ]);
    } catch (error) {
      // Redis failing here is an outage like any other: the send goes on, to be queued.
      if (this.outage.classify(error) === 'transient') return;
      throw error;
    }
    if (first === null || first.sender === sender || first.mode === AddressingMode.TOPIC || held) {
      return;
    }
    throw new NotInThreadError(sender, threadId);
  }

  /**
   * For a reply (inReplyTo): checks that the sender may answer the message (it sent it, holds
   * it, or it is a topic message), takes its thread and hop, addresses a DIRECT reply without
   * a target to its sender, and marks a reply after a request's deadline as late. `answers` names the request a timely reply from its
   * target to its sender answers, so that its deadline stops. `answered`: the reply's
   * inReplyTo.
   */
  private async conversation(
    given: CheckedSend,
    answered: string,
  ): Promise<{
    checked: CheckedSend;
    reply: ReplyContext | null;
    answers: MessageEnvelope | null;
    /** A DIRECT reply to the answered message's sender, whose contact policy lets it pass. */
    answersItsSender: boolean;
  }> {
    const { sender } = given.message;
    // Both reads at once: whether the sender holds the message is needed unless it sent it.
    // The message answered is read without its body, which a reply never needs.
    const [[original], held] = await Promise.all([
      this.messages.envelopes([answered]),
      this.mailboxes.holds(sender, answered),
    ]);
    if (original === null) {
      throw new AnsweredNotFoundError(answered);
    }
    // A topic message reaches no mailbox: it is every mailbox's to read, and so to answer.
    if (original.sender !== sender && original.mode !== AddressingMode.TOPIC && !held) {
      throw new NotARecipientError(sender, original.id);
    }
    const thread = given.message.threadId;
    if (thread !== null && thread !== original.threadId) {
      throw new ThreadMismatchError(thread, original.threadId);
    }
    const target =
      given.message.mode === AddressingMode.DIRECT
        ? (given.message.target ?? original.sender)
        : given.message.target;
    // The answered message's sender deleted, and its name registered again since: the reply
    // would reach the new mailbox, which must not get the old one's conversations.
    if (
      given.message.mode === AddressingMode.DIRECT &&
      target === original.sender &&
      original.sender !== sender
    ) {
      const registeredAt = await this.mailboxes.registeredAt(original.sender);
      if (registeredAt !== null && !ownedByName(original.id, registeredAt)) {
        throw new MailboxNotFoundError(
          target,
          'target',
          'was deleted and registered again since it sent the message answered',
        );
      }
    }
    const late = original.replyBy !== null && this.clock.now() > original.replyBy;
    const metadata = late
      ? { ...((given.message.metadata as Record<string, unknown> | null) ?? {}), late: true }
      : given.message.metadata;
    const fromResponder = original.mode !== AddressingMode.DIRECT || original.target === sender;
    const timely =
      original.replyBy !== null &&
      !late &&
      fromResponder &&
      given.message.mode === AddressingMode.DIRECT &&
      target === original.sender;
    return {
      checked: { ...given, message: { ...given.message, target, metadata } },
      reply: { threadId: original.threadId, hop: original.hop + 1 },
      answers: timely ? original : null,
      answersItsSender: given.message.mode === AddressingMode.DIRECT && target === original.sender,
    };
  }

  /** Queues a send locally, unless it repeats a keyed send waiting there (queuedRepeat). */
  private queueLocally(send: QueuedSend): RouteResult {
    const repeat = this.queuedRepeat(send);
    if (repeat) return repeat;
    this.outage.accept(send);
    return result(send.message, RouteStatus.QUEUED, 0);
  }

  /**
   * A keyed send whose key an earlier send waiting in the local queue holds is that send,
   * answered with its id and not queued again; null for any other.
   */
  private queuedRepeat(send: QueuedSend): RouteResult | null {
    const key = send.idempotencyKey;
    const earlier = key === null ? undefined : this.outage.queuedWith(send.message.sender, key);
    return earlier ? result(earlier.message, RouteStatus.QUEUED, 0) : null;
  }

  /**
   * Queues a send behind earlier ones while Redis answers. A timely reply stops its
   * request's deadline now, not when the queue comes to it (and again then, should this
   * fail): the sweep must not tell of a timeout meanwhile.
   */
  private async queueBehind(send: QueuedSend): Promise<RouteResult> {
    const repeat = this.queuedRepeat(send);
    if (repeat) {
      // The earlier send with its key counted what its guards admitted.
      await this.giveBack({ ...send, answers: null });
      return repeat;
    }
    let queued: RouteResult;
    try {
      queued = this.queueLocally(send);
    } catch (full) {
      await this.giveBack(send);
      throw full;
    }
    if (send.answers) await this.store.answered(send.answers).catch(() => undefined);
    return queued;
  }

  /**
   * Removes what a refused send may have written under its id, best effort: deletes still
   * work on a Redis that is out of memory. A repeat of an earlier send wrote under the
   * earlier id, which is left alone.
   */
  private async discard(message: StoredMessage): Promise<void> {
    try {
      await this.store.erase(message);
    } catch (error) {
      this.logger.debug(`refused send ${message.id} not cleaned up: ${String(error)}`);
    }
  }

  /**
   * Routes up to MAX_BATCH messages concurrently; each is validated on its own and a failure
   * becomes a FAILED result in its place. The sends' commands go out together, each written
   * without waiting for the one before to be answered, so a batch costs about as much waiting
   * on Redis as a single send.
   */
  async routeMany(
    inputs: SendMessageInput[],
    senderOf: (given: string | null | undefined, field: string) => string | null | undefined = (
      given,
    ) => given,
    byOperator = false,
  ): Promise<RouteResult[]> {
    if (inputs.length > MAX_BATCH) throw new BatchTooLargeError(inputs.length, MAX_BATCH);
    const limits = this.config.limits;
    return Promise.all(
      inputs.map(async (input, index) => {
        try {
          const sender = senderOf(input.sender, 'sender');
          return await this.send(validateSendInput({ ...input, sender }, limits), byOperator);
        } catch (error) {
          const failure = this.countFailure(this.failure(scopeError(error, `inputs[${index}]`)));
          return result(null, RouteStatus.FAILED, 0, failure);
        }
      }),
    );
  }

  /**
   * Routes, then (with REDIS_WAIT_REPLICAS) waits until replicas hold the writes: a send is
   * acknowledged as routed only then, else it stays in the local queue and is written again,
   * idempotently, by the next flush.
   */
  private async routeDurably(
    message: StoredMessage,
    idempotencyKey: string | null,
  ): Promise<RouteResult> {
    const epoch = this.topology.writeEpoch();
    const routed = await this.routeMessage(message, idempotencyKey);
    await this.topology.confirmReplicated(epoch);
    return routed;
  }

  private async routeMessage(
    first: StoredMessage,
    idempotencyKey: string | null,
  ): Promise<RouteResult> {
    let message = first;
    // A repeat of a keyed send whose first send stored its message.
    let repeat = false;
    this.presence.seen(message.sender);
    if (idempotencyKey !== null) {
      const owner = await this.idempotency.claim(message.sender, idempotencyKey, message.id);
      if (owner !== message.id) {
        // A repeat: complete whatever the first send left undone, from what it stored.
        const stored = await this.messages.find(owner);
        repeat = stored !== null;
        message = stored ?? { ...message, id: owner, ...timesOf(owner, message) };
      }
    }
    switch (message.mode) {
      case AddressingMode.DIRECT:
        return this.routeDirect(message, idempotencyKey, repeat);
      case AddressingMode.BROADCAST:
        return this.routeBroadcast(message, repeat);
      case AddressingMode.TOPIC:
        await this.store.deliver(message, [], repeat);
        return this.routeTopic(message);
    }
  }

  private async routeDirect(
    message: StoredMessage,
    idempotencyKey: string | null,
    repeat: boolean,
  ): Promise<RouteResult> {
    return this.directResult(
      message,
      await this.store.deliver(message, [message.target as string], repeat),
      idempotencyKey,
      repeat,
    );
  }

  /**
   * What a DIRECT send's delivery means for its sender. `repeat`: a keyed send's repeat of a
   * first send that stored its message.
   */
  private directResult(
    message: StoredMessage,
    { own, outcomes: [settled] }: Delivered,
    idempotencyKey: string | null,
    repeat: boolean,
  ): RouteResult | Promise<never> {
    if (settled.status === 'rejected') throw settled.reason;
    if (settled.value.kind !== 'missing')
      return result(message, this.liveStatus([settled.value]), 1);
    // The first send stored the message and reached the target, since deactivated or
    // deleted: this repeat answers with that send's id, as any repeat does, and routes nothing.
    if (repeat && !own) return result(message, RouteStatus.QUEUED, 1);
    return this.missingTarget(message, idempotencyKey, own);
  }

  private async missingTarget(
    message: StoredMessage,
    idempotencyKey: string | null,
    own: boolean,
  ): Promise<never> {
    const target = message.target as string;
    // The enqueue step checks the target, which saves a round trip on every send; the price
    // is erasing what this call wrote when the target turns out to be missing. Its key, with
    // nothing stored under it, is a first send's again.
    if (own) {
      await Promise.all([
        this.store.erase(message),
        idempotencyKey === null
          ? undefined
          : this.idempotency.release(message.sender, idempotencyKey, message.id),
      ]);
    }
    if (message.replyBy !== null) throw new NoResponderError(target);
    throw new MailboxNotFoundError(target, 'target', 'is not registered or not active');
  }

  private async routeBroadcast(message: StoredMessage, repeat: boolean): Promise<RouteResult> {
    let names = (await this.mailboxes.activeNames()).filter((name) => name !== message.sender);
    // A repeat completes the first send for the mailboxes it was for: not one registered since.
    if (repeat) {
      const registered = await Promise.all(names.map((name) => this.mailboxes.registeredAt(name)));
      names = names.filter((_, index) => ownedByName(message.id, registered[index]));
    }
    const { outcomes: settled } = await this.store.deliver(message, names, repeat);
    const outcomes: EnqueueOutcome[] = [];
    const failures: Array<{ name: string; reason: Error }> = [];
    settled.forEach((entry, index) => {
      if (entry.status === 'fulfilled') outcomes.push(entry.value);
      else failures.push({ name: names[index], reason: entry.reason as Error });
    });
    const reached = outcomes.filter((outcome) => outcome.kind !== 'missing');
    if (failures.length === 0) return result(message, this.liveStatus(reached), reached.length);
    const [first] = failures;
    this.logger.warn(
      `broadcast ${message.id} failed for ${failures.length} of ${names.length} recipients, first: ${first.name}: ${first.reason.message}`,
    );
    // The client is told the failure's kind, not Redis' own text (publicReason).
    const reason =
      classifyRedisFailure(first.reason) === null ? 'internal error' : publicReason(first.reason);
    const error = new StoreUnavailableError(
      `${failures.length} of ${names.length} recipients failed, first: ${first.name}: ${reason}`,
    );
    return result(
      message,
      reached.length > 0 ? RouteStatus.PARTIAL : RouteStatus.FAILED,
      reached.length,
      error,
    );
  }

  private async routeTopic(message: StoredMessage): Promise<RouteResult> {
    const receivers = await this.topics.append(
      message.target as string,
      message.id,
      message.createdAt,
      toPushPayload(message),
    );
    return result(
      message,
      receivers !== null && receivers > 0 ? RouteStatus.SUCCESS : RouteStatus.QUEUED,
      0,
    );
  }

  private count(routed: RouteResult): RouteResult {
    if (routed.status === RouteStatus.FAILED) this.statistics.increment('routingErrors');
    else this.statistics.increment('messagesRouted');
    return routed;
  }

  /** A failed send as its sender is told it (asClientError); a bug is logged here. */
  private failure(error: unknown): AppError {
    return asClientError(error, this.logger, 'unexpected error while routing a send');
  }

  private countFailure(error: AppError): AppError {
    const invalid = error.code === 'BAD_USER_INPUT' || error.code === 'PAYLOAD_TOO_LARGE';
    this.statistics.increment(invalid ? 'validationErrors' : 'routingErrors');
    return error;
  }

  private liveStatus(outcomes: EnqueueOutcome[]): RouteStatus {
    const live = outcomes.some((outcome) => outcome.kind === 'delivered' && outcome.receivers > 0);
    return live ? RouteStatus.SUCCESS : RouteStatus.QUEUED;
  }
}
