import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { REDIS_SUBSCRIBER } from './redis.constants';
import type { ScriptedClient } from './redis-scripts';

/** Receives each published payload, parsed from JSON once for all listeners of the channel. */
export type ChannelListener = (payload: unknown) => void;

interface ChannelState {
  listeners: Set<ChannelListener>;
  /** Settles when Redis has confirmed the SUBSCRIBE (or the UNSUBSCRIBE). */
  pending: Promise<void>;
}

/**
 * One Redis subscription per channel per process, shared by every local listener and
 * released when the last one leaves. Redis pub/sub is at-most-once: whoever needs every
 * message fills gaps from storage (see MailboxFeedService).
 */
@Injectable()
export class RedisPubSubService implements OnModuleDestroy {
  private readonly logger = new Logger(RedisPubSubService.name);
  private readonly channels = new Map<string, ChannelState>();

  private readonly reconnectListeners = new Set<() => void>();
  private wasDown = false;

  constructor(@Inject(REDIS_SUBSCRIBER) private readonly subscriber: ScriptedClient) {
    subscriber.on('message', (channel: string, payload: string) => this.dispatch(channel, payload));
    subscriber.on('close', () => {
      this.wasDown = true;
    });
    subscriber.on('ready', () => {
      if (!this.wasDown) return;
      this.wasDown = false;
      // ioredis subscribes again on reconnect; a PING queued behind those SUBSCRIBEs answers
      // once they are in place, and only then can a gap be measured and filled.
      this.subscriber.ping().then(
        () => this.notifyReconnected(),
        () => undefined,
      );
    });
  }

  /**
   * Calls `listener` each time the subscriber connection is back after a drop, with every
   * channel subscribed again: whatever was published meanwhile is gone from pub/sub and must
   * be read from storage.
   */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  private notifyReconnected(): void {
    this.logger.log(
      `subscriber connection back: ${this.reconnectListeners.size} feeds catch up from storage`,
    );
    for (const listener of this.reconnectListeners) listener();
  }

  /** Local channels with at least one listener (for tests and metrics). */
  get channelCount(): number {
    return this.channels.size;
  }

  /** Local listeners of a channel. */
  listenerCount(channel: string): number {
    return this.channels.get(channel)?.listeners.size ?? 0;
  }

  get connected(): boolean {
    return this.subscriber.status === 'ready';
  }

  /**
   * Adds a listener and resolves once Redis has confirmed the subscription, so that every
   * message published afterwards reaches it. Returns the function that removes it.
   */
  async subscribe(channel: string, listener: ChannelListener): Promise<() => Promise<void>> {
    let state = this.channels.get(channel);
    if (!state) {
      state = { listeners: new Set(), pending: Promise.resolve() };
      this.channels.set(channel, state);
      const created = state;
      created.pending = this.subscriber.subscribe(channel).then(
        () => undefined,
        (error: unknown) => {
          if (this.channels.get(channel) === created) this.channels.delete(channel);
          throw error;
        },
      );
    }
    state.listeners.add(listener);
    try {
      await state.pending;
    } catch (error) {
      state.listeners.delete(listener);
      throw error;
    }
    let removed = false;
    return async () => {
      if (removed) return;
      removed = true;
      await this.release(channel, listener);
    };
  }

  private async release(channel: string, listener: ChannelListener): Promise<void> {
    const state = this.channels.get(channel);
    if (!state) return;
    state.listeners.delete(listener);
    if (state.listeners.size > 0) return;
    this.channels.delete(channel);
    await state.pending.catch(() => undefined);
    // A listener may have come back for the channel meanwhile: it has its own SUBSCRIBE.
    if (this.channels.has(channel)) return;
    const done = this.subscriber.unsubscribe(channel).catch((error: unknown) => {
      this.logger.warn(`unsubscribe ${channel} failed: ${(error as Error).message}`);
    });
    // While the connection is down the UNSUBSCRIBE waits for it: nobody should wait with it.
    if (this.subscriber.status === 'ready') await done;
  }

  private dispatch(channel: string, payload: string): void {
    const state = this.channels.get(channel);
    if (!state) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      this.logger.error(`unreadable payload on ${channel} dropped`);
      return;
    }
    for (const listener of state.listeners) {
      try {
        listener(parsed);
      } catch (error) {
        this.logger.error(`listener on ${channel} failed: ${(error as Error).message}`);
      }
    }
  }

  onModuleDestroy(): void {
    this.channels.clear();
  }
}
