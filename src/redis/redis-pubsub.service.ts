import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { REDIS_SUBSCRIBER } from './redis.constants';
import type { ScriptedClient } from './redis-scripts';
import { RedisTopology } from './redis-topology.service';

/**
 * On Cluster, ioredis moves shard subscriptions itself when a primary fails or a slot moves
 * and says `subscribersReady` once it has sent the SSUBSCRIBEs again, without waiting for
 * their replies: storage is read this long after, when they are in place.
 */
const SHARD_RESUBSCRIBE_SETTLE_MS = 250;

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

  private readonly reconnectListeners = new Set<(downSince: number) => void>();
  /** When the subscriptions were last lost (epoch ms), or null while they hold. */
  private downSince: number | null = null;

  constructor(
    @Inject(REDIS_SUBSCRIBER) private readonly subscriber: ScriptedClient,
    private readonly topology: RedisTopology,
  ) {
    const dispatch = (channel: string, payload: string): void => this.dispatch(channel, payload);
    subscriber.on('message', dispatch);
    subscriber.on('smessage', dispatch);
    subscriber.on('-subscriber', () => {
      this.downSince ??= Date.now();
    });
    subscriber.on('subscribersReady', () => {
      if (this.downSince === null) return;
      setTimeout(() => this.notifyReconnected(), SHARD_RESUBSCRIBE_SETTLE_MS).unref();
    });
    subscriber.on('close', () => {
      this.downSince ??= Date.now();
    });
    subscriber.on('ready', () => {
      if (this.downSince === null) return;
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
   * channel subscribed again, and with the time the drop began: whatever was published
   * meanwhile is gone from pub/sub and must be read from storage.
   */
  onReconnect(listener: (downSince: number) => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  private notifyReconnected(): void {
    const downSince = this.downSince;
    if (downSince === null) return;
    this.downSince = null;
    this.logger.log(
      `subscriber connection back: ${this.reconnectListeners.size} feeds catch up from storage`,
    );
    for (const listener of this.reconnectListeners) listener(downSince);
  }

  /** Local channels with at least one listener (for tests and metrics). */
  get channelCount(): number {
    return this.channels.size;
  }

  /** Local listeners of a channel, counted from the moment they ask (see subscribed). */
  listenerCount(channel: string): number {
    return this.channels.get(channel)?.listeners.size ?? 0;
  }

  /** Resolves once Redis has confirmed the channel's subscription; at once without one. */
  async subscribed(channel: string): Promise<void> {
    await this.channels.get(channel)?.pending;
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
      const subscribing = this.topology.isShardChannel(channel)
        ? this.subscriber.ssubscribe(channel)
        : this.subscriber.subscribe(channel);
      created.pending = subscribing.then(
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
    const unsubscribing = this.topology.isShardChannel(channel)
      ? this.subscriber.sunsubscribe(channel)
      : this.subscriber.unsubscribe(channel);
    const done = unsubscribing.catch((error: unknown) => {
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
