import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { Clock } from '../common/clock';
import { expiryMember, RECIPIENTS_GRACE_MS } from '../cleanup/cleanup.repository';
import { forgetGoneFirstEntry } from '../cleanup/thread-index';
import { AppConfigService } from '../config/app-config.service';
import { MailboxRepository, type EnqueueOutcome } from '../mailboxes/mailbox.repository';
import { AddressingMode } from '../messages/message.model';
import { threadEntries, threadKey } from '../messages/thread-key';
import {
  otherHashFields,
  toHashFields,
  toPushPayload,
  type StoredMessage,
} from '../messages/stored-message';
import { SigningKeysService } from '../provenance/signing-keys.service';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';
import { RedisTopology } from '../redis/redis-topology.service';
import {
  EnqueueCode,
  GuardedSendCode,
  SendGuardCode,
  StoreCode,
  type ThreadGuardCode,
} from '../redis/script-codes';
import { ScriptBatch } from '../redis/script-batch';
import {
  senderGuardCallArguments,
  senderGuardKeys,
  senderGuardSendArguments,
  threadGuardArguments,
  threadGuardKeys,
  type SendGuardRequest,
  type ThreadGuardRequest,
} from '../safety/safety.repository';
import { SendEvents } from './send-events';

/** What `deliver` did. */
export interface Delivered {
  /**
   * Whether what step 1 wrote is this call's own, to erase if the send is refused: false for
   * a retried send, whose first call wrote it.
   */
  own: boolean;
  /** Per recipient mailbox, in the order given. */
  outcomes: PromiseSettledResult<EnqueueOutcome>[];
}

interface DirectSend {
  message: StoredMessage;
  mailbox: string;
}

interface GuardedSend extends DirectSend {
  guard: SendGuardRequest;
  /** The thread's guard, for a send in a thread of another message. */
  thread: ThreadGuardRequest | null;
}

/** What `deliverGuarded` did. */
export type GuardedDelivery =
  /** The recipient has a contact policy: nothing was done, the send takes two calls. */
  | { kind: 'policy' }
  /** The sender's guard refused the send: nothing was written or counted. */
  | { kind: 'refused'; guard: [SendGuardCode, number | string] }
  /** The thread's guard refused the send: nothing was written or counted. */
  | { kind: 'thread-refused'; guard: [ThreadGuardCode, number] }
  /**
   * The guards admitted (and counted) the send, and both steps ran; or the recipient is
   * unknown or inactive, no guard ran, and `delivered` says the mailbox is missing.
   */
  | { kind: 'admitted'; delivered: Delivered };

/** DIRECT sends per store-and-enqueue.lua call: a sendMessages batch at most. */
const DIRECT_BATCH = 100;

/**
 * The one write path of every send: DIRECT, BROADCAST, TOPIC, and the service's own notices.
 * Its two steps, in an order that makes a crash harmless:
 *
 * 1. store_message (lib/store-message.lua), on the message's hash tag: the message hash, its
 *    confirmation entries and a broadcast's recipient list, with the message's entry in the
 *    expiry schedule beside it. Nothing refers to the message yet, so a crash here leaves an
 *    orphan that expires or that a resend with the same idempotencyKey completes.
 * 2. enqueue_mailbox (lib/enqueue-mailbox.lua), per recipient, on the mailbox's hash tag: the
 *    index entry and the live push, once per message and mailbox.
 *
 * On Redis Cluster the two tags are in different slots and each step is its own call. Where
 * one node holds every key (standalone Redis, Sentinel), a DIRECT send runs both functions in
 * one call of store-and-enqueue.lua, and the sends of one event-loop turn share a few such
 * calls (ScriptBatch); a DIRECT send can run its guards, its sender's and its thread's, in
 * the same call (guarded-send.lua, `deliverGuarded`). The Lua is the same either way; only
 * the number of round trips differs.
 *
 * What reached a mailbox is announced through SendEvents, which delivery reacts to; the
 * router never calls it back.
 *
 * Being the one step every message passes, it is also where a message is signed: `deliver`
 * stamps `signature` onto the message object itself before step 1 (unless it carries one
 * already, as a retried send does), so that the stored hash, every push built from it, and
 * whatever the caller builds from the same object afterwards (the router's topic push) all
 * carry the same signature.
 */
@Injectable()
export class MessageStore {
  private readonly logger = new Logger(MessageStore.name);
  private readonly direct = new ScriptBatch<DirectSend, number>(
    (sends) => this.storeAndEnqueue(sends),
    DIRECT_BATCH,
  );
  private readonly guarded = new ScriptBatch<GuardedSend, [number, number | string, number]>(
    (sends) => this.guardedSend(sends),
    DIRECT_BATCH,
  );

  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly topology: RedisTopology,
    private readonly mailboxes: MailboxRepository,
    private readonly events: SendEvents,
    private readonly clock: Clock,
    private readonly config: AppConfigService,
    // Optional only for test modules that build the store alone; the application always has
    // it (ProvenanceModule's SigningModule is global).
    @Optional() private readonly signatures?: SigningKeysService,
  ) {}

  /**
   * Stores the message for `recipients` (none for TOPIC, whose index the topic repository
   * writes) and puts it in each recipient's mailbox, settled per mailbox so that one failing
   * recipient does not stop the others. A failure of step 1 is thrown.
   *
   * Stamps the message's `signature` first when it has none (see the class comment); a Redis
   * failure while loading the signing key is thrown like any failure of step 1.
   *
   * `repeat`: the message is a keyed send's, stored by its first send, being completed again.
   * Its request deadline is then not written again: the first send wrote it, and it is gone
   * only because a reply answered the request or the sweep told its sender of the timeout.
   */
  async deliver(message: StoredMessage, recipients: string[], repeat = false): Promise<Delivered> {
    if (!this.signedNow(message)) await this.signLater(message);
    if (
      message.mode === AddressingMode.DIRECT &&
      recipients.length === 1 &&
      this.topology.mode !== 'cluster'
    ) {
      return this.deliverInOneStep(message, recipients[0], repeat);
    }
    const own = await this.write(message, recipients, repeat);
    if (recipients.length === 0) return { own, outcomes: [] };
    // A tracked message's first push is its first delivery attempt.
    const payload = toPushPayload(message, message.requireConfirmation ? 1 : undefined);
    const outcomes = await Promise.allSettled(
      recipients.map(async (mailbox) => {
        let outcome: EnqueueOutcome;
        try {
          outcome = await this.mailboxes.enqueue(
            mailbox,
            message.id,
            message.createdAt,
            payload,
            message.requireConfirmation,
          );
        } catch (error) {
          await this.announceFailure(message, mailbox);
          throw error;
        }
        return this.announce(message, mailbox, outcome);
      }),
    );
    return { own, outcomes };
  }

  /**
   * Whether a send's guards and both steps can run in one call (`deliverGuarded`): a DIRECT
   * send where one node holds every key.
   */
  guardsInOneStep(message: StoredMessage): boolean {
    return message.mode === AddressingMode.DIRECT && this.topology.mode !== 'cluster';
  }

  /**
   * A DIRECT send and its guards in Redis (see SafetyService), in one call of
   * guarded-send.lua shared with the turn's other such sends: the sender's guard and a
   * reply's thread guard, then both steps, and the send's place in its thread's index, when
   * they admit the send. When the recipient has a contact policy nothing is done: the caller
   * checks the policy and sends in two calls. Failures are thrown.
   */
  async deliverGuarded(
    message: StoredMessage,
    guard: SendGuardRequest,
    thread: ThreadGuardRequest | null,
  ): Promise<GuardedDelivery> {
    // The script takes the thread's guard and the index entries (threadEntries) together.
    if ((thread === null) !== (message.threadId === message.id)) {
      throw new Error(`send ${message.id}: a thread guard goes with a send in a thread, only`);
    }
    if (!this.signedNow(message, guard.contentDigest)) {
      await this.signLater(message, guard.contentDigest);
    }
    const mailbox = message.target as string;
    // Written before the script, as deliverInOneStep writes them, and taken back when the
    // send goes no further.
    const expiry = this.trackExpiry(message);
    const deadline = this.trackDeadline(message);
    const guarded = this.guarded.add({ message, mailbox, guard, thread });
    const [code, detail, threadCode] =
      expiry === undefined && deadline === undefined
        ? await guarded
        : (await Promise.all([expiry, deadline, guarded]))[2];
    if (code !== SendGuardCode.Admitted) {
      if (message.expiresAt !== null || message.replyBy !== null) await this.erase(message);
      if (code === GuardedSendCode.PolicySet) return { kind: 'policy' };
      if (code === GuardedSendCode.ThreadRefused) {
        return { kind: 'thread-refused', guard: [threadCode as ThreadGuardCode, Number(detail)] };
      }
      return { kind: 'refused', guard: [code as SendGuardCode, detail] };
    }
    return { kind: 'admitted', delivered: await this.enqueued(message, mailbox, Number(detail)) };
  }

  /**
   * Stamps the message's signature unless it has one (see the class comment), where that
   * needs no wait: false when the signing key is still to be loaded (signLater). `digest`:
   * the content's SHA-256 in hex, when the caller has it already. Synchronous, so that a
   * send signed here joins its turn's batch without a microtask between.
   */
  private signedNow(message: StoredMessage, digest?: string): boolean {
    if (!this.signatures || message.signature) return true;
    const signature = this.signatures.trySign(message, digest);
    if (signature === null) return false;
    message.signature = signature;
    return true;
  }

  /** Stamps the signature once the signing key is loaded (the first sends of a process). */
  private async signLater(message: StoredMessage, digest?: string): Promise<void> {
    if (this.signatures) message.signature = await this.signatures.sign(message, digest);
  }

  /**
   * Removes what step 1 wrote under the message's id, for a send refused after it: the id was
   * never acknowledged, so nothing else refers to it. The three keys share the message's hash
   * tag, so one DEL removes them on Cluster too.
   */
  async erase(message: StoredMessage): Promise<void> {
    await Promise.all([
      this.redis.del(
        this.keys.message(message.id),
        this.keys.deliveryConfirmation(message.id),
        this.keys.messageRecipients(message.id),
      ),
      this.lapsesAt(message, message.mode !== AddressingMode.DIRECT) === null
        ? undefined
        : this.redis.zrem(this.keys.expirySchedule(), expiryMember(message)),
      message.replyBy === null
        ? undefined
        : this.redis.zrem(this.keys.requestDeadlines(), message.id),
      this.leaveThread(message),
    ]);
  }

  /**
   * Takes a refused message out of its thread's index, and the thread's first entry with it
   * when that names no stored message (a thread id shaped like a message id that the send
   * named: threadEntries adds it), which nothing else would ever remove.
   */
  private async leaveThread(message: StoredMessage): Promise<void> {
    if (threadEntries(message).length === 0) return;
    const key = threadKey(message.threadId);
    await this.redis.zrem(this.keys.thread(key), message.id);
    await forgetGoneFirstEntry(this.redis, this.keys, key);
  }

  /**
   * When the cleanup loop removes the message (the expiry schedule): at its expiry, and a
   * message that no mailbox's retention reaches (`unheld`: a TOPIC message, or a broadcast
   * for no mailbox) no later than MAILBOX_MAX_AGE after it was sent. Null: never.
   */
  private lapsesAt(message: StoredMessage, unheld = message.mode === AddressingMode.TOPIC) {
    const maxAgeMs = this.config.retention.maxAgeMs;
    if (!unheld || maxAgeMs === 0) return message.expiresAt;
    const aged = message.createdAt + maxAgeMs;
    return message.expiresAt === null ? aged : Math.min(message.expiresAt, aged);
  }

  private async write(
    message: StoredMessage,
    recipients: string[],
    repeat: boolean,
  ): Promise<boolean> {
    const tracked = message.requireConfirmation && message.mode !== AddressingMode.TOPIC;
    const expires = message.expiresAt;
    const recordRecipients =
      expires !== null && message.mode === AddressingMode.BROADCAST && recipients.length > 0;
    const named = tracked || recordRecipients ? recipients : [];
    const [written] = await Promise.all([
      this.redis.storeMessage(
        this.keys.message(message.id),
        this.keys.deliveryConfirmation(message.id),
        this.keys.messageRecipients(message.id),
        expires === null ? '' : String(expires),
        this.clock.now(),
        tracked ? '1' : '0',
        recordRecipients ? String(expires + RECIPIENTS_GRACE_MS) : '',
        named.length,
        ...named,
        ...toHashFields(message),
      ),
      this.trackExpiry(
        message,
        message.mode === AddressingMode.TOPIC ||
          (message.mode === AddressingMode.BROADCAST && recipients.length === 0),
      ),
      repeat ? undefined : this.trackDeadline(message),
      this.trackThread(message),
    ]);
    return written === StoreCode.Written;
  }

  /** A request's deadline, for the sweep that tells its sender when nobody answered. */
  private trackDeadline(
    message: Pick<StoredMessage, 'id' | 'replyBy'>,
  ): Promise<unknown> | undefined {
    if (message.replyBy === null) return undefined;
    return this.redis.zadd(this.keys.requestDeadlines(), String(message.replyBy), message.id);
  }

  /** A threaded message's place in its thread's index (threadEntries says which). */
  private trackThread(message: StoredMessage): Promise<unknown> | undefined {
    const entries = threadEntries(message);
    if (entries.length === 0) return undefined;
    return this.redis.zadd(this.keys.thread(threadKey(message.threadId)), ...entries.flat());
  }

  /** A reply meant to answer the request was refused: the request's deadline applies again. */
  async reopen(request: Pick<StoredMessage, 'id' | 'replyBy'>): Promise<void> {
    await this.trackDeadline(request);
  }

  /** A timely reply answered the request: its deadline no longer applies. */
  async answered(request: Pick<StoredMessage, 'id' | 'replyBy'>): Promise<void> {
    await this.redis.zrem(this.keys.requestDeadlines(), request.id);
  }

  private trackExpiry(message: StoredMessage, unheld?: boolean): Promise<unknown> | undefined {
    const at = this.lapsesAt(message, unheld);
    if (at === null) return undefined;
    return this.redis.zadd(this.keys.expirySchedule(), String(at), expiryMember(message));
  }

  private async deliverInOneStep(
    message: StoredMessage,
    mailbox: string,
    repeat: boolean,
  ): Promise<Delivered> {
    // The expiry entry is written first on the same connection, so Redis has it before the
    // message: cleanup finds nothing to do for a message not stored yet, while a stored
    // message without its entry would never leave its indexes. Not awaited before the script,
    // so that the send still joins its turn's call.
    const expiry = this.trackExpiry(message);
    const deadline = repeat ? undefined : this.trackDeadline(message);
    const thread = this.trackThread(message);
    let answer: number;
    try {
      [, , , answer] = await Promise.all([
        expiry,
        deadline,
        thread,
        this.direct.add({ message, mailbox }),
      ]);
    } catch (reason) {
      return { own: false, outcomes: [{ status: 'rejected', reason }] };
    }
    return this.enqueued(message, mailbox, answer);
  }

  /** What a one-step send's answer (store-and-enqueue.lua's, per send) says was done. */
  private async enqueued(
    message: StoredMessage,
    mailbox: string,
    answer: number,
  ): Promise<Delivered> {
    if (answer === EnqueueCode.Missing || answer === EnqueueCode.MissingAfterStore) {
      // Missing: nothing of this call's is in Redis but the expiry entry, which erase removes.
      // MissingAfterStore: an earlier call stored the message, and it stays.
      return { own: answer === EnqueueCode.Missing, outcomes: [this.missing()] };
    }
    const outcome: EnqueueOutcome =
      answer === EnqueueCode.Duplicate
        ? { kind: 'duplicate' }
        : { kind: 'delivered', receivers: answer };
    return {
      own: true,
      outcomes: [{ status: 'fulfilled', value: await this.announce(message, mailbox, outcome) }],
    };
  }

  private missing(): PromiseFulfilledResult<EnqueueOutcome> {
    return { status: 'fulfilled', value: { kind: 'missing' } };
  }

  private async storeAndEnqueue(sends: DirectSend[]): Promise<number[]> {
    const keys: string[] = [];
    const args: string[] = [String(this.clock.now())];
    for (const send of sends) this.oneStepArguments(send, keys, args);
    return this.redis.storeAndEnqueue(keys, args);
  }

  private async guardedSend(
    sends: GuardedSend[],
  ): Promise<Array<[number, number | string, number]>> {
    const keys: string[] = [];
    const args: Array<string | number> = [
      String(this.clock.now()),
      ...senderGuardCallArguments(sends.map((send) => send.guard)),
    ];
    for (const send of sends) {
      for (const argument of senderGuardSendArguments(send.guard)) args.push(argument);
      if (send.thread === null) {
        args.push('0');
      } else {
        const entries = threadEntries(send.message);
        args.push('1', ...threadGuardArguments(send.thread), entries.length, ...entries.flat());
      }
      this.oneStepArguments(send, keys, args);
      for (const key of senderGuardKeys(this.keys, send.guard)) keys.push(key);
      if (send.thread !== null) keys.push(...threadGuardKeys(this.keys, send.thread));
    }
    const flat = await this.redis.guardedSend(keys, args);
    return sends.map((_send, index) => [
      Number(flat[3 * index]),
      flat[3 * index + 1],
      Number(flat[3 * index + 2]),
    ]);
  }

  /**
   * A one-step send's six keys and its arguments (lib/store-and-enqueue.lua's header): the
   * hash's id, createdAt and requireConfirmation travel once, as the id, score and tracked.
   */
  private oneStepArguments(
    { message, mailbox }: DirectSend,
    keys: string[],
    args: Array<string | number>,
  ): void {
    keys.push(
      this.keys.message(message.id),
      this.keys.deliveryConfirmation(message.id),
      this.keys.messageRecipients(message.id),
      this.keys.mailboxMetadata(mailbox),
      this.keys.mailboxMessages(mailbox),
      this.keys.mailboxPending(mailbox),
    );
    const fields = otherHashFields(message);
    args.push(
      message.expiresAt === null ? '' : String(message.expiresAt),
      message.id,
      String(message.createdAt),
      this.keys.mailboxFeed(mailbox),
      message.requireConfirmation ? '1' : '0',
      mailbox,
      message.sender,
      message.mode,
      message.content,
      message.contentType,
      message.priority,
      String(fields.length),
    );
    for (const field of fields) args.push(field);
  }

  /**
   * Tells the reacting domains that a message could not be put in a mailbox, so that a
   * tracked delivery PENDING for it is decided later instead of waiting for ever. Best effort:
   * the send's own failure is what its caller gets.
   */
  private async announceFailure(message: StoredMessage, mailbox: string): Promise<void> {
    if (!message.requireConfirmation) return;
    try {
      await this.events.enqueued({ message, mailbox, kind: 'failed' });
    } catch (error) {
      this.logger.warn(
        `the failed enqueue of ${message.id} to ${mailbox} was not scheduled for a decision: ${(error as Error).message}`,
      );
    }
  }

  /** Tells the reacting domains what reached (or could not reach) a mailbox. */
  private async announce(
    message: StoredMessage,
    mailbox: string,
    outcome: EnqueueOutcome,
  ): Promise<EnqueueOutcome> {
    if (outcome.kind === 'delivered') {
      await this.events.enqueued({
        message,
        mailbox,
        kind: 'enqueued',
        receivers: outcome.receivers,
      });
    } else if (outcome.kind === 'missing' && message.mode === AddressingMode.BROADCAST) {
      // Deactivated between the recipient list's read and the enqueue. (A DIRECT send to a
      // missing mailbox is refused and erased whole by its sender.)
      await this.events.enqueued({ message, mailbox, kind: 'unreachable' });
    }
    return outcome;
  }
}
