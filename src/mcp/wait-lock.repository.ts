import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';
import { RedisTopology } from '../redis/redis-topology.service';

/**
 * One `wait_for_message` per mailbox at a time, across instances: a lock on the mailbox's tag
 * that lapses by itself, so that a wait whose instance died frees the mailbox soon after.
 */
@Injectable()
export class WaitLockRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly topology: RedisTopology,
  ) {}

  /** The channel on which cancellations of the mailbox's waits are announced. */
  cancelChannel(mailbox: string): string {
    return this.keys.mailboxWaitCancels(mailbox);
  }

  /**
   * Announces that the client cancelled request `requestId`: a stateless cancellation arrives
   * as a request of its own, maybe on another instance than the wait it cancels.
   */
  async cancel(mailbox: string, requestId: string): Promise<void> {
    await this.topology.publish(this.keys.mailboxWaitCancels(mailbox), JSON.stringify(requestId));
  }

  /** The owner token when the lock was taken for `ttlMs`; null while another wait holds it. */
  async acquire(mailbox: string, ttlMs: number): Promise<string | null> {
    const owner = randomBytes(12).toString('base64url');
    const taken = await this.redis.set(this.keys.mailboxWait(mailbox), owner, 'PX', ttlMs, 'NX');
    return taken === 'OK' ? owner : null;
  }

  /** How long, in ms, the lock has left to hold at most (0 when it is free). */
  async heldFor(mailbox: string): Promise<number> {
    return Math.max(0, await this.redis.pttl(this.keys.mailboxWait(mailbox)));
  }

  /** Releases the lock while it is still `owner`'s (release-lock.lua). */
  async release(mailbox: string, owner: string): Promise<void> {
    await this.redis.releaseLock(this.keys.mailboxWait(mailbox), owner);
  }
}
