import { Injectable } from '@nestjs/common';
import type { StoredMessage } from '../messages/stored-message';

/** What the store step did for one recipient mailbox of a message. */
export type Enqueued =
  /** In the mailbox; `receivers` instances got the live push (0: nobody was subscribed). */
  | { message: StoredMessage; mailbox: string; kind: 'enqueued'; receivers: number }
  /** The mailbox was gone by the time the message reached it (a broadcast recipient). */
  | { message: StoredMessage; mailbox: string; kind: 'unreachable' }
  /**
   * The message could not be put in the mailbox (Redis refused or failed): the send is
   * answered PARTIAL or FAILED for it, and a tracked message's delivery is decided later.
   */
  | { message: StoredMessage; mailbox: string; kind: 'failed' };

export type EnqueuedListener = (event: Enqueued) => Promise<void>;

/**
 * How other domains learn what a send stored, so that a send walks one way (router, store,
 * push) and the router does not call delivery or cleanup back. The store step awaits every
 * listener before the send is answered: what a listener writes (a delivery's first attempt,
 * its retry schedule) is as durable as the send's acknowledgement.
 */
@Injectable()
export class SendEvents {
  private readonly listeners: EnqueuedListener[] = [];

  onEnqueued(listener: EnqueuedListener): void {
    this.listeners.push(listener);
  }

  async enqueued(event: Enqueued): Promise<void> {
    if (this.listeners.length === 1) return this.listeners[0](event);
    await Promise.all(this.listeners.map((listener) => listener(event)));
  }
}
