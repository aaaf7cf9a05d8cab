import { hash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';

export const IDEMPOTENCY_WINDOW_SECONDS = 24 * 3600;

/** Owns `idempotency:{sender}:*`: the first message id of each sender's idempotency key. */
@Injectable()
export class IdempotencyRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
  ) {}

  /**
   * Claims `key` for `id` unless the sender used it within the window. Returns the id that
   * owns the key: `id` for a first send, the earlier id for a repeat.
   */
  async claim(sender: string, key: string, id: string): Promise<string> {
    const earlier = await this.redis.claimIdempotency(
      this.keyOf(sender, key),
      this.keys.idempotencyIndex(sender),
      id,
      IDEMPOTENCY_WINDOW_SECONDS * 1000,
      this.clock.now(),
    );
    return earlier ?? id;
  }

  /**
   * Gives `key` back when it is still `id`'s: the send claimed it, then was refused with
   * nothing stored, and a later send with the key is a first send.
   */
  async release(sender: string, key: string, id: string): Promise<void> {
    await this.redis.releaseIdempotency(
      this.keyOf(sender, key),
      this.keys.idempotencyIndex(sender),
      id,
    );
  }

  /** The id that owns `key` for the sender within the window, or null for a first send. */
  async owner(sender: string, key: string): Promise<string | null> {
    return this.redis.get(this.keyOf(sender, key));
  }

  private keyOf(sender: string, key: string): string {
    return this.keys.idempotency(sender, hash('sha256', key));
  }
}
