import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import { AppConfigService } from '../config/app-config.service';
import type { StoredMessage } from '../messages/stored-message';
import { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import {
  configuredKey,
  generateSigningKey,
  macMatches,
  parseSignature,
  signMessage,
  type SignedFields,
  type SigningKey,
} from './message-signature';
import { SigningKeyConfiguredError } from './provenance.errors';
import { SigningKeyRepository } from './signing-key.repository';

/** Random kids are drawn again this often at most when one is taken (odds: 1 in 2^32 each). */
const KID_DRAWS = 5;

/**
 * The signing keys of this instance: the one that signs, and every one that verifies.
 *
 * With MESSAGE_SIGNING_KEY, that key signs and it and MESSAGE_SIGNING_OLD_KEYS verify; nothing
 * is read from Redis to sign. Without it, the key is a generated one kept in Redis: the first
 * instance to start generates it (SET NX), every other reads it, and `rotate` replaces it.
 * Each instance caches the current key and learns of a rotation from the `signing:rotations`
 * announcement, and reads the current key again whenever its subscriber connection comes
 * back (an announcement may have been missed meanwhile). Keys that only verify are read from
 * Redis on first use and cached; generated keys stay in Redis, so messages signed with a
 * rotated-out key verify on every instance. Once MESSAGE_SIGNING_KEY is set, Redis is not
 * trusted with keys: a generated key verifies then only when MESSAGE_SIGNING_OLD_KEYS lists it
 * (`<kid>:base64url:<secret>`).
 *
 * Secrets are never logged.
 */
@Injectable()
export class SigningKeysService implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(SigningKeysService.name);
  /** Whether MESSAGE_SIGNING_KEY is set: the key then changes only with the variable. */
  readonly configured: boolean;
  /** The key that signs now; null until a generated one is loaded. */
  private current: SigningKey | null = null;
  /** A read of the current key failed: read it again once Redis answers. */
  private stale = false;
  private readonly known = new Map<string, Buffer>();
  private loading: Promise<SigningKey> | null = null;
  /** Raised by every read of the current key, so that an older read never wins over a newer. */
  private reads = 0;
  private readonly stops: Array<() => unknown> = [];

  constructor(
    config: AppConfigService,
    private readonly repository: SigningKeyRepository,
    private readonly pubsub: RedisPubSubService,
    private readonly breaker: RedisCircuitBreaker,
  ) {
    const { key, oldKeys } = config.signing;
    for (const text of oldKeys) this.remember(configuredKey(text));
    if (key !== null) this.current = this.remember(configuredKey(key));
    this.configured = key !== null;
  }

  /** The kid that signs now; null while a generated key is not loaded yet. */
  get currentKid(): string | null {
    return this.current?.kid ?? null;
  }

  onModuleInit(): void {
    if (this.configured) return;
    this.pubsub
      .subscribe(this.repository.rotationChannel(), () => this.refresh())
      .then((stop) => this.stops.push(stop))
      .catch((error: unknown) =>
        this.logger.warn(`signing key rotations not followed: ${(error as Error).message}`),
      );
    this.stops.push(this.pubsub.onReconnect(() => this.refresh()));
  }

  /**
   * Loads the generated key once Redis answers (start waits briefly for Redis), so that the
   * first send need not; a send before that loads it itself (see sign).
   */
  onApplicationBootstrap(): void {
    if (this.configured) return;
    if (this.breaker.closed) this.refresh();
    const stop = this.breaker.onStateChange((state) => {
      if (state === 'closed' && (this.current === null || this.stale)) this.refresh();
    });
    this.stops.push(stop);
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.allSettled(this.stops.map((stop) => stop()));
  }

  /**
   * The signature of `message` under the current key; null while no key is loaded yet.
   * `digest`: the content's SHA-256 in hex, when the caller has it already.
   */
  trySign(message: SignedFields, digest?: string): string | null {
    return this.current === null ? null : signMessage(message, this.current, digest);
  }

  /** The signature of `message`, loading the current key first if needed (a Redis failure is thrown). */
  async sign(message: SignedFields, digest?: string): Promise<string> {
    return signMessage(message, this.current ?? (await this.load()), digest);
  }

  /**
   * Whether the message's signature is valid for its fields as given, under a key this
   * service knows (configured, or generated and kept in Redis). False for a message without
   * a signature, of an unknown form or kid, or whose signed fields changed since.
   */
  async verify(message: SignedFields & Pick<StoredMessage, 'signature'>): Promise<boolean> {
    if (!message.signature) return false;
    const signature = parseSignature(message.signature);
    if (signature === null) return false;
    const secret = await this.secretOf(signature.kid);
    return secret !== null && macMatches(message, signature.mac, secret);
  }

  /**
   * Makes a new generated key current on every instance and returns its kid. Keys rotated
   * out stay in Redis and keep verifying. Refused while MESSAGE_SIGNING_KEY is set.
   */
  async rotate(): Promise<string> {
    if (this.configured) throw new SigningKeyConfiguredError();
    const key = await this.addNewKey();
    await this.repository.makeCurrent(key.kid);
    this.use(key, ++this.reads);
    await this.repository.announce(key.kid);
    this.logger.log(`signing key rotated: messages are now signed with kid ${key.kid}`);
    return key.kid;
  }

  /** The current generated key, read (or generated) once; concurrent callers share the read. */
  private load(): Promise<SigningKey> {
    this.loading ??= this.readCurrent().finally(() => {
      this.loading = null;
    });
    return this.loading;
  }

  /** Reads the current key again in the background (a rotation, a reconnect, the start). */
  private refresh(): void {
    if (this.configured) return;
    this.readCurrent().catch((error: unknown) => {
      this.stale = true;
      this.logger.warn(`signing key not read: ${(error as Error).message}`);
    });
  }

  private async readCurrent(): Promise<SigningKey> {
    const read = ++this.reads;
    const kid = await this.repository.currentKid();
    const stored = kid === null ? null : await this.repository.find(kid);
    this.stale = false;
    if (stored !== null) return this.use(stored, read);
    return this.use(await this.claim(kid), read);
  }

  /**
   * Makes a key current where Redis has none usable: the one this instance signed with, if
   * Redis lost it, else a new one. Where no kid is current, the first instance to claim wins
   * and the others adopt its key. Where a kid is current but has no secret (`current`, read
   * so; or the winner's, gone between its claim and this read), it takes over.
   */
  private async claim(current: string | null): Promise<SigningKey> {
    const mine = this.current;
    const candidate = mine === null ? await this.addNewKey() : mine;
    if (mine !== null) await this.repository.add(mine);
    let missing = current;
    if (missing === null) {
      const winner = await this.repository.claimCurrent(candidate.kid);
      if (winner === candidate.kid) return candidate;
      const theirs = await this.repository.find(winner);
      if (theirs !== null) {
        if (mine === null) await this.repository.remove(candidate.kid);
        return theirs;
      }
      missing = winner;
    }
    this.logger.warn(`signing key ${missing} is named current but missing from Redis: replaced`);
    await this.repository.makeCurrent(candidate.kid);
    return candidate;
  }

  private async addNewKey(): Promise<SigningKey> {
    for (let draw = 0; draw < KID_DRAWS; draw += 1) {
      const key = generateSigningKey();
      if (this.known.has(key.kid)) continue;
      if (await this.repository.add(key)) return key;
    }
    throw new Error(`no free signing key id after ${KID_DRAWS} draws`);
  }

  /** Adopts a key read as current, unless a later read already adopted one. */
  private use(key: SigningKey, read: number): SigningKey {
    this.remember(key);
    if (read === this.reads || this.current === null) this.current = key;
    return this.current;
  }

  private remember(key: SigningKey): SigningKey {
    this.known.set(key.kid, key.secret);
    return key;
  }

  /**
   * The secret of `kid`: a key of this instance's, or, with a generated key, one kept in Redis.
   * With MESSAGE_SIGNING_KEY set, Redis is never asked: whoever can write to it could add a
   * key of their own there, and sign with it whatever they change. A generated key that signed
   * before the variable was set verifies once it is listed in MESSAGE_SIGNING_OLD_KEYS.
   */
  private async secretOf(kid: string): Promise<Buffer | null> {
    const known = this.known.get(kid);
    if (known !== undefined || this.configured) return known ?? null;
    const stored = await this.repository.find(kid);
    return stored === null ? null : this.remember(stored).secret;
  }
}
