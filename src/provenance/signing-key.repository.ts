import { Inject, Injectable } from '@nestjs/common';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';
import type { SigningKey } from './message-signature';

function encoded(key: SigningKey): string {
  return key.secret.toString('base64url');
}

/**
 * Owns `signing:{keys}:current`, `signing:{keys}:secrets` and the `signing:rotations`
 * channel: the generated signing keys, used only while MESSAGE_SIGNING_KEY is unset. Both
 * keys share one hash tag. A key's secret is always written before anything names it current,
 * on the same connection, so whoever reads a current kid finds its secret.
 */
@Injectable()
export class SigningKeyRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
  ) {}

  /** The kid named current, or null when no instance generated a key yet. */
  async currentKid(): Promise<string | null> {
    return this.redis.get(this.keys.signingCurrent());
  }

  /** The secret of a generated key; null for a kid Redis does not hold. */
  async find(kid: string): Promise<SigningKey | null> {
    const text = await this.redis.hget(this.keys.signingSecrets(), kid);
    return text === null ? null : { kid, secret: Buffer.from(text, 'base64url') };
  }

  /**
   * Keeps a key's secret unless a secret is kept under its kid already; false then (a
   * random kid taken twice: the caller draws another).
   */
  async add(key: SigningKey): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys.signingSecrets(), key.kid, encoded(key))) === 1;
  }

  /** Removes a key that never became current. */
  async remove(kid: string): Promise<void> {
    await this.redis.hdel(this.keys.signingSecrets(), kid);
  }

  /**
   * Names `kid` current unless a kid is current already (SET NX); returns the kid that is
   * current afterwards. Every instance that starts at once thus ends up with the same key.
   */
  async claimCurrent(kid: string): Promise<string> {
    const earlier = await this.redis.set(this.keys.signingCurrent(), kid, 'NX', 'GET');
    return earlier ?? kid;
  }

  /** Names `kid` current, whatever was (a rotation). */
  async makeCurrent(kid: string): Promise<void> {
    await this.redis.set(this.keys.signingCurrent(), kid);
  }

  /** Tells every instance that `kid` is current now. */
  async announce(kid: string): Promise<void> {
    await this.redis.publish(this.keys.signingRotations(), JSON.stringify({ kid }));
  }

  rotationChannel(): string {
    return this.keys.signingRotations();
  }
}
