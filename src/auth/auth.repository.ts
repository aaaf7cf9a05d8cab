import { Inject, Injectable } from '@nestjs/common';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';
import { RateLimitCode } from '../redis/script-codes';

/** Owns `ratelimit:{name}` and the revocation channel. */
@Injectable()
export class AuthRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
  ) {}

  /** Takes `cost` from the mailbox's bucket; returns 0 when allowed, else ms to wait. */
  async consume(mailbox: string, limitPerMinute: number, cost: number): Promise<number> {
    const [allowed, waitMs] = await this.redis.rateLimit(
      this.keys.rateLimit(mailbox),
      limitPerMinute,
      cost,
    );
    return allowed === RateLimitCode.Allowed ? 0 : Math.max(1, waitMs);
  }

  /** Tells every instance that a token digest is no longer valid. */
  async announceRevocation(digest: string): Promise<void> {
    await this.redis.publish(this.keys.revocations(), JSON.stringify({ digest }));
  }

  revocationChannel(): string {
    return this.keys.revocations();
  }
}
