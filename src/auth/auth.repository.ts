import { Inject, Injectable } from '@nestjs/common';
import { ReplyError } from 'ioredis';
import { AppConfigService } from '../config/app-config.service';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';
import { RedisTopology } from '../redis/redis-topology.service';
import { ScriptBatch } from '../redis/script-batch';
import { RateLimitCode } from '../redis/script-codes';

interface TokenCheck {
  mailbox: string;
  digest: string;
  cost: number;
}

/** Token checks per authenticate-charge.lua call at most. */
const CHECKS_PER_CALL = 100;

/** A bucket's answer as 0 when allowed, else the ms to wait (at least 1). */
function msToWait(code: number, waitMs: number): number {
  return code === RateLimitCode.Allowed ? 0 : Math.max(1, waitMs);
}

/**
 * Owns `ratelimit:{name}` and the revocation channel; reads a mailbox's token digest with
 * each check and each charge.
 */
@Injectable()
export class AuthRepository {
  /** Where one node holds every key, a turn's token checks share a few calls. */
  private readonly checks = new ScriptBatch<TokenCheck, [number, number | string]>(
    (checks) => this.authenticateCharge(checks),
    CHECKS_PER_CALL,
  );

  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly topology: RedisTopology,
    private readonly config: AppConfigService,
  ) {}

  /**
   * Checks a mailbox token's digest against the one the mailbox stores and, only when they
   * match, takes `cost` from its bucket (RATE_LIMIT_PER_MINUTE operations a minute), in one
   * call: null when the token is not the mailbox's (nothing charged), else 0 when allowed or
   * the ms to wait.
   */
  async checkAndCharge(mailbox: string, digest: string, cost: number): Promise<number | null> {
    const check = { mailbox, digest, cost };
    // On Cluster each check is its own call, on its mailbox's slot.
    const [code, waitMs] =
      this.topology.mode === 'cluster'
        ? await this.authenticateCharge([check]).then(([answer]) => answer)
        : await this.checks.add(check);
    if (code === RateLimitCode.KeyRefused) {
      // Redis' own error, as the failed command would have raised it (see AuthService.charge).
      throw new (ReplyError as new (message: string) => Error)(String(waitMs));
    }
    return code === RateLimitCode.TokenRefused ? null : msToWait(code, Number(waitMs));
  }

  /**
   * Whether `digest` is the one the mailbox stores for its token, charging nothing: a check of
   * cost 0, so that the checks of one turn share a few calls with its charges.
   */
  async holdsToken(mailbox: string, digest: string): Promise<boolean> {
    return (await this.checkAndCharge(mailbox, digest, 0)) !== null;
  }

  /** One call of authenticate-charge.lua for `checks`. */
  private async authenticateCharge(
    checks: TokenCheck[],
  ): Promise<Array<[number, number | string]>> {
    const keys: string[] = [];
    const args: Array<string | number> = [this.config.limits.rateLimitPerMinute];
    for (const { mailbox, digest, cost } of checks) {
      keys.push(this.keys.mailboxMetadata(mailbox), this.keys.rateLimit(mailbox));
      args.push(digest, cost);
    }
    const flat = await this.redis.authenticateCharge(keys, args);
    return checks.map((_check, index) => [Number(flat[2 * index]), flat[2 * index + 1]]);
  }

  /** Tells every instance that a token digest is no longer valid. */
  async announceRevocation(digest: string): Promise<void> {
    await this.redis.publish(this.keys.revocations(), JSON.stringify({ digest }));
  }

  revocationChannel(): string {
    return this.keys.revocations();
  }
}
