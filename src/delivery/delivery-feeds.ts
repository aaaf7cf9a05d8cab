import { ownedByName } from '../messages/messages.service';
import { Logger } from '@nestjs/common';
import { MemoSlot } from '../common/memo-slot';
import { PushIterator } from '../graphql/push-iterator';
import type { RedisPubSubService } from '../redis/redis-pubsub.service';
import type { DeliveryConfirmation } from './delivery-confirmation.model';
import type {
  DeliveryConfirmationRepository,
  SenderDeliveryEvent,
} from './delivery-confirmation.repository';
import {
  isLaterState,
  toConfirmationModel,
  type ConfirmationRecord,
  type RecipientState,
} from './delivery-state';

/** Deliveries whose last state a `myDeliveries` feed remembers, to drop repeats and late twins. */
const SENDER_MEMORY = 10_000;
/** Recipients' states told per batch when a watch of one message starts. */
const STATE_BATCH = 500;
/** Reads of the state after a reconnect, and the pause between them, before a watch gives up. */
const CATCH_UP_TRIES = 120;
const CATCH_UP_PAUSE_MS = 500;

/** The last state told of each delivery, up to a bound, the least recently told forgotten first. */
class LastStates {
  private readonly states = new Map<string, RecipientState>();

  constructor(private readonly bound: number) {}

  /** Records `state` and returns true when it is later than the last one told of `key`. */
  advance(key: string, state: RecipientState): boolean {
    const known = this.states.get(key);
    if (known !== undefined && !isLaterState(state, known)) return false;
    this.states.delete(key);
    this.states.set(key, state);
    if (this.states.size > this.bound) {
      this.states.delete(this.states.keys().next().value as string);
    }
    return true;
  }
}

function isState(value: unknown): value is RecipientState {
  const state = value as RecipientState | null;
  return typeof state === 'object' && state !== null && typeof state.status === 'string';
}

/** `{mailbox, state}` from `delivery_confirmation:{id}:events`, or null. */
function readMessageEvent(payload: unknown): { mailbox: string; state: RecipientState } | null {
  const event = payload as { mailbox?: unknown; state?: unknown } | null;
  if (typeof event !== 'object' || event === null) return null;
  if (typeof event.mailbox !== 'string' || !isState(event.state)) return null;
  return { mailbox: event.mailbox, state: event.state };
}

/** `{messageId, mailbox, state}` from `mailbox:{name}:deliveries`, or null. */
function readSenderEvent(payload: unknown): SenderDeliveryEvent | null {
  const event = payload as { messageId?: unknown } | null;
  const change = readMessageEvent(payload);
  if (change === null || typeof event?.messageId !== 'string') return null;
  return { messageId: event.messageId, ...change };
}

/**
 * The two live views of delivery changes: one message's (`deliveryStatusChanged`) and every
 * message of one sender's (`myDeliveries`). The resolver builds it from its own providers.
 *
 * Both filter in the source stream, per subscriber, and push one DeliveryConfirmation per
 * change: subscribers that share a document share the execution of an event
 * (src/graphql/shared-execution.ts), which is sound only because nothing after this point
 * depends on who subscribed.
 */
export class DeliveryFeeds {
  private readonly logger = new Logger(DeliveryFeeds.name);
  /**
   * The model of each sender event, made once for every local subscriber of the channel: the
   * pub/sub service hands them all the same parsed payload, and the same event object lets
   * their executions be shared. Entries go with the payload.
   */
  private readonly senderModels = new MemoSlot<DeliveryConfirmation | null>('sender model');

  constructor(
    private readonly pubsub: RedisPubSubService,
    private readonly confirmations: DeliveryConfirmationRepository,
  ) {}

  /**
   * The current state of each of the message's deliveries that `visible` lets through, then
   * every change of them, none lost in between: it subscribes to the message's events first,
   * holds what arrives while it reads the state, then tells the state and releases what it
   * held. A change is told only if it is later than the last state told of that recipient
   * (isLaterState), so a change that the read already showed is not told twice. After the
   * subscriber connection to Redis was down, the state is read again and every delivery that
   * moved meanwhile is told in its latest state (the steps between are not).
   */
  async watchMessage(
    messageId: string,
    visible: (mailbox: string) => boolean,
  ): Promise<AsyncIterableIterator<DeliveryConfirmation>> {
    const last = new LastStates(Number.MAX_SAFE_INTEGER);
    let held: Array<{ mailbox: string; state: RecipientState }> | null = [];
    let stopCatchingUp: () => void = () => undefined;
    let unsubscribe: () => Promise<void> = () => Promise.resolve();
    const iterator = new PushIterator<DeliveryConfirmation>(() => {
      stopCatchingUp();
      return unsubscribe();
    });

    const tell = (mailbox: string, state: RecipientState): void => {
      if (!visible(mailbox) || !last.advance(mailbox, state)) return;
      iterator.push(toConfirmationModel(messageId, mailbox, state));
    };
    /** Tells the state read, then what was held meanwhile, and goes live. */
    const tellState = async (record: ConfirmationRecord | null): Promise<void> => {
      const recipients = [...(record?.recipients ?? [])].sort(([a], [b]) => (a < b ? -1 : 1));
      // A broadcast's state may be more than a feed holds: told a batch at a time, paced by
      // the client (room() and a synchronous run of pushes, see PushIterator).
      for (let i = 0; i < recipients.length; i += STATE_BATCH) {
        await iterator.room();
        if (iterator.closed) return;
        for (const [mailbox, state] of recipients.slice(i, i + STATE_BATCH)) tell(mailbox, state);
      }
      const waiting = held ?? [];
      held = null;
      for (const change of waiting) tell(change.mailbox, change.state);
    };
    const fail = (error: unknown): void => {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.logger.warn(`delivery watch of ${messageId} failed: ${failure.message}`);
      iterator.fail(failure);
    };

    unsubscribe = await this.pubsub.subscribe(
      this.confirmations.eventsChannel(messageId),
      (payload) => {
        const change = readMessageEvent(payload);
        if (change === null) {
          this.logger.error(`unreadable delivery event of ${messageId} dropped`);
          return;
        }
        if (held) held.push(change);
        else tell(change.mailbox, change.state);
      },
    );
    // The client may have gone while the subscription was being set up.
    if (iterator.closed) {
      await unsubscribe();
      return iterator;
    }
    // Read before the subscription is answered, so that a failed read refuses it; told after,
    // so that the client's reading paces a large state.
    let record: ConfirmationRecord | null;
    try {
      record = await this.confirmations.find(messageId);
    } catch (error) {
      await iterator.return();
      throw error;
    }
    tellState(record).catch(fail);
    stopCatchingUp = this.pubsub.onReconnect(() => {
      if (held || iterator.closed) return;
      held = [];
      this.retrying(iterator, async () =>
        tellState(await this.confirmations.find(messageId)),
      ).catch(fail);
    });
    return iterator;
  }

  /**
   * Every change of every delivery of the messages `sender` sent, as it happens, from the
   * sender's deliveries channel. Live only: the current state of a message's deliveries is
   * `deliveryStatus`. Changes come from several instances, each after its own script, so two
   * changes of one delivery may arrive out of order: one that is not later than the last told
   * of its delivery (isLaterState) is dropped, over the last SENDER_MEMORY deliveries told. A
   * change published while this instance's subscriber connection to Redis was down is lost.
   * `registeredAt`: when the sender's mailbox was registered, for a mailbox watching its own;
   * the changes of what an earlier mailbox of the name sent are not its (ownedByName). Null:
   * every change (the operator's watch).
   */
  async watchSender(
    sender: string,
    registeredAt: number | null,
  ): Promise<AsyncIterableIterator<DeliveryConfirmation>> {
    const last = new LastStates(SENDER_MEMORY);
    let unsubscribe: () => Promise<void> = () => Promise.resolve();
    const iterator = new PushIterator<DeliveryConfirmation>(() => unsubscribe());
    unsubscribe = await this.pubsub.subscribe(
      this.confirmations.senderChannel(sender),
      (payload) => {
        const model = this.senderModel(payload);
        if (model === null) {
          this.logger.error(`unreadable delivery event for sender ${sender} dropped`);
          return;
        }
        const event = payload as SenderDeliveryEvent;
        if (registeredAt !== null && !ownedByName(event.messageId, registeredAt)) return;
        if (!last.advance(`${event.messageId}|${event.mailbox}`, event.state)) return;
        iterator.push(model);
      },
    );
    if (iterator.closed) await unsubscribe();
    return iterator;
  }

  private senderModel(payload: unknown): DeliveryConfirmation | null {
    if (typeof payload !== 'object' || payload === null) return null;
    let model = this.senderModels.get(payload);
    if (model === undefined) {
      const event = readSenderEvent(payload);
      model =
        event === null ? null : toConfirmationModel(event.messageId, event.mailbox, event.state);
      this.senderModels.set(payload, model);
    }
    return model;
  }

  /**
   * Runs `work` until it succeeds, while the watch is open: after a reconnect of the
   * subscriber connection, the command connection may still be on its way back.
   */
  private async retrying(
    iterator: PushIterator<DeliveryConfirmation>,
    work: () => Promise<void>,
  ): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      if (iterator.closed) return;
      try {
        await work();
        return;
      } catch (error) {
        if (attempt >= CATCH_UP_TRIES) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, CATCH_UP_PAUSE_MS));
    }
  }
}
