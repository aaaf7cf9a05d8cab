import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { Clock } from '../common/clock';
import { AppConfigService } from '../config/app-config.service';
import { MailboxRepository } from '../mailboxes/mailbox.repository';
import { MailboxNotFoundError } from '../mailboxes/mailbox.errors';
import { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import {
  classifyRedisFailure,
  publicReason,
  RedisUnavailableError,
  refusesWrites,
} from '../redis/redis.errors';
import { assertMailboxName } from '../routing/address';
import { RateLimitedError, RateLimitUnavailableError } from './auth.errors';
import { AuthRepository } from './auth.repository';
import {
  ADMIN,
  ForbiddenError,
  UnauthenticatedError,
  type MailboxPrincipal,
  type Principal,
} from './principal';
import {
  bearerToken,
  generateAdminToken,
  issueMailboxToken,
  sameSecret,
  tokenDigest,
  tokenMailbox,
} from './tokens';

/** How long a token verified against Redis is still accepted while Redis is unreachable. */
const OUTAGE_TOKEN_GRACE_MS = 5 * 60_000;
const MAX_REMEMBERED_TOKENS = 10_000;
/** At most one warning this often while calls pass a rate limit that cannot be charged. */
const UNCHARGED_WARNING_INTERVAL_MS = 60_000;

const INVALID_TOKEN = 'the token is not valid (unknown, rotated or revoked)';

/** The token of an `Authorization` value; throws UNAUTHENTICATED for none or a malformed one. */
function presentedToken(authorization: unknown): string {
  if (authorization === undefined || authorization === null || authorization === '') {
    throw new UnauthenticatedError('no token was sent');
  }
  const token = bearerToken(authorization);
  if (!token) throw new UnauthenticatedError('the value is not of the form "Bearer <token>"');
  return token;
}

/**
 * Tokens: the operator's ADMIN_TOKEN and each mailbox's own, stored only as SHA-256 digests.
 * Every check reads the digest from Redis, so a rotated or revoked token fails at once on
 * every instance.
 */
@Injectable()
export class AuthService implements OnModuleInit {
  private readonly logger = new Logger(AuthService.name);
  private adminToken = '';
  private generated = false;
  /** Token digests verified against Redis, for the outage grace. */
  private readonly verified = new Map<string, { mailbox: string; at: number }>();
  private unchargedWarnedAt = 0;

  constructor(
    private readonly config: AppConfigService,
    private readonly mailboxes: MailboxRepository,
    private readonly repository: AuthRepository,
    private readonly breaker: RedisCircuitBreaker,
    private readonly clock: Clock,
  ) {}

  get enabled(): boolean {
    return this.config.auth.enabled;
  }

  onModuleInit(): void {
    const { enabled, adminToken } = this.config.auth;
    if (!enabled) {
      // Still told apart where a mailbox token is required (MCP): FORBIDDEN, it names no mailbox.
      this.adminToken = adminToken ?? '';
      this.logger.warn(
        'AUTH_ENABLED=false: every operation is open to anyone who can reach the service.',
      );
      return;
    }
    if (adminToken) {
      this.adminToken = adminToken;
      return;
    }
    // Production refuses to start without ADMIN_TOKEN (see the configuration rules). The
    // start-up block shows the generated one.
    this.adminToken = generateAdminToken();
    this.generated = true;
  }

  /** The admin token this process generated because ADMIN_TOKEN is unset; null otherwise. */
  get generatedAdminToken(): string | null {
    return this.generated ? this.adminToken : null;
  }

  /**
   * Whether a send by `principal` is the operator's own post (the admin token), which starts a
   * thread's loop counts again. With authentication off every caller is the admin, and none
   * is known to be the operator.
   */
  isOperator(principal: Principal): boolean {
    return this.enabled && principal.kind === 'admin';
  }

  /**
   * Whether an `Authorization` value carries the admin token (always, with authentication
   * off). Never throws and never reads Redis: for answers that show more to the operator.
   */
  presentsAdmin(authorization: unknown): boolean {
    if (!this.enabled) return true;
    const token = bearerToken(authorization);
    return token !== null && sameSecret(token, this.adminToken);
  }

  /** The principal of an `Authorization` value; throws UNAUTHENTICATED for none or a bad one. */
  async authenticate(authorization: unknown): Promise<Principal> {
    if (!this.enabled) return ADMIN;
    const token = presentedToken(authorization);
    if (sameSecret(token, this.adminToken)) return ADMIN;
    return this.verifyMailboxToken(token);
  }

  /**
   * `authenticate`, then `charge(principal, cost)`, as one Redis call for a mailbox token
   * (authenticate-charge.lua, on the mailbox's hash tag): a token that is not the mailbox's
   * is refused before anything is charged. Whenever the limiter is off or the call cannot be
   * made as one (Redis away, the script refused), the two steps run with their own answers.
   */
  async authenticateCharged(authorization: unknown, cost: number): Promise<Principal> {
    const limit = this.config.limits.rateLimitPerMinute;
    if (!this.enabled || limit === 0 || cost <= 0 || !this.breaker.closed) {
      return this.chargedInTwoSteps(authorization, cost);
    }
    const token = presentedToken(authorization);
    if (sameSecret(token, this.adminToken)) return ADMIN;
    const mailbox = tokenMailbox(token);
    if (!mailbox) throw new UnauthenticatedError(INVALID_TOKEN);
    const principal: MailboxPrincipal = {
      kind: 'mailbox',
      mailbox,
      tokenDigest: tokenDigest(token),
    };
    let waitMs: number | null;
    try {
      waitMs = await this.repository.checkAndCharge(mailbox, principal.tokenDigest, cost);
    } catch {
      // Each step on its own meets the failure with its own answer (see charge).
      return this.chargedInTwoSteps(authorization, cost);
    }
    this.charged(principal, limit, waitMs);
    this.remember(principal.tokenDigest, mailbox);
    return principal;
  }

  private async chargedInTwoSteps(authorization: unknown, cost: number): Promise<Principal> {
    const principal = await this.authenticate(authorization);
    await this.charge(principal, cost);
    return principal;
  }

  /**
   * The mailbox of an `Authorization` value that must carry a mailbox token, checked even with
   * AUTH_ENABLED=false: for front doors (MCP) where the token is what names the caller's
   * mailbox. The admin token is refused with FORBIDDEN, since it names no mailbox.
   */
  async authenticateMailbox(authorization: unknown): Promise<MailboxPrincipal> {
    const token = presentedToken(authorization);
    if (this.adminToken !== '' && sameSecret(token, this.adminToken)) {
      throw new ForbiddenError(
        'authorization',
        'the admin token names no mailbox: use the token registerMailbox gave the agent',
      );
    }
    return this.verifyMailboxToken(token);
  }

  private async verifyMailboxToken(token: string): Promise<MailboxPrincipal> {
    const mailbox = tokenMailbox(token);
    if (!mailbox) throw new UnauthenticatedError(INVALID_TOKEN);
    const digest = tokenDigest(token);
    if (!this.breaker.closed) return this.fromRecent(mailbox, digest);
    if (await this.repository.holdsToken(mailbox, digest)) {
      this.remember(digest, mailbox);
      return { kind: 'mailbox', mailbox, tokenDigest: digest };
    }
    this.verified.delete(digest);
    throw new UnauthenticatedError(INVALID_TOKEN);
  }

  /** A digest just verified against Redis, for the outage grace. */
  private remember(digest: string, mailbox: string): void {
    if (this.verified.size >= MAX_REMEMBERED_TOKENS) this.verified.clear();
    this.verified.set(digest, { mailbox, at: this.clock.now() });
  }

  /**
   * While Redis cannot be reached, a token this instance verified in the last few minutes is
   * still accepted, so that agents can keep sending into the local queue. Once Redis answers,
   * every check reads Redis again.
   */
  private fromRecent(mailbox: string, digest: string): MailboxPrincipal {
    const known = this.verified.get(digest);
    if (known && known.mailbox === mailbox && this.clock.now() - known.at < OUTAGE_TOKEN_GRACE_MS) {
      return { kind: 'mailbox', mailbox, tokenDigest: digest };
    }
    throw new RedisUnavailableError('the token cannot be checked while Redis is unavailable');
  }

  /**
   * Charges an operation to the principal's rate limit; the admin is not limited.
   *
   * The limit protects Redis, so when Redis cannot keep the bucket the call passes uncharged:
   * during an outage (the local queue's bound limits sends instead), and while Redis refuses
   * writes (out of memory, read-only), when reads still work and every write is refused by
   * Redis itself, with STORE_FULL for a send. A bucket that Redis refuses for another reason
   * (its key holds another type, the script fails) is a fault to fix, not a reason to let
   * calls through unlimited: the call is refused with SERVICE_UNAVAILABLE.
   */
  async charge(principal: Principal, cost: number): Promise<void> {
    if (principal.kind === 'admin') return;
    // An operation over a WebSocket comes with the principal its connection was given, and is
    // checked here alone: while Redis is away it gets the grace a request's token gets, and
    // no longer (a request's own check, made just before, answers the same).
    if (!this.breaker.closed) {
      this.fromRecent(principal.mailbox, principal.tokenDigest);
      return;
    }
    const limit = this.config.limits.rateLimitPerMinute;
    if (limit === 0 || cost <= 0) return;
    let waitMs: number | null;
    try {
      waitMs = await this.repository.checkAndCharge(principal.mailbox, principal.tokenDigest, cost);
    } catch (error) {
      const kind = classifyRedisFailure(error);
      if (kind === 'transient' || refusesWrites(error)) {
        this.warnUncharged((error as Error).message);
        return;
      }
      if (kind === 'permanent') {
        this.logger.error(`rate limit of ${principal.mailbox} failed: ${(error as Error).message}`);
        throw new RateLimitUnavailableError(publicReason(error as Error));
      }
      throw error;
    }
    this.charged(principal, limit, waitMs);
    // The token was read again: its outage grace starts from now.
    this.remember(principal.tokenDigest, principal.mailbox);
  }

  /**
   * Throws for a charge's refusal: UNAUTHENTICATED when the token is no longer the mailbox's
   * (the charge re-reads it: a token revoked since the operation's caller was known is refused
   * at once), RATE_LIMITED when the bucket lacks the cost.
   */
  private charged(principal: MailboxPrincipal, limit: number, waitMs: number | null): void {
    if (waitMs === null) {
      this.verified.delete(principal.tokenDigest);
      throw new UnauthenticatedError(INVALID_TOKEN);
    }
    if (waitMs > 0) throw new RateLimitedError(limit, waitMs);
  }

  private warnUncharged(reason: string): void {
    const now = this.clock.now();
    if (now - this.unchargedWarnedAt < UNCHARGED_WARNING_INTERVAL_MS) return;
    this.unchargedWarnedAt = now;
    this.logger.warn(`rate limits are not charged while Redis cannot keep them (${reason})`);
  }

  /** A new token for the mailbox; the previous one stops working everywhere at once. */
  async rotate(nameArg: string): Promise<string> {
    const name = assertMailboxName(nameArg, 'name');
    const token = issueMailboxToken(name);
    const previous = await this.mailboxes.replaceTokenDigest(name, tokenDigest(token));
    if (previous === false) throw new MailboxNotFoundError(name);
    if (previous) await this.revokedDigest(previous);
    return token;
  }

  /** Revokes the mailbox's token: it fails at once, and its open subscriptions end. */
  async revoke(nameArg: string): Promise<void> {
    const name = assertMailboxName(nameArg, 'name');
    const previous = await this.mailboxes.replaceTokenDigest(name, null);
    if (previous === false) throw new MailboxNotFoundError(name);
    if (previous) await this.revokedDigest(previous);
  }

  /**
   * A token replaced or removed (by digest): forgotten here, and announced to every instance.
   * The digest in Redis is replaced already, so the change stands whatever happens here: a
   * failed announcement is logged, not thrown (the caller still gets a rotated token), and the
   * sockets still open with the token close when their instance checks them again.
   */
  async revokedDigest(digest: string): Promise<void> {
    this.verified.delete(digest);
    try {
      await this.repository.announceRevocation(digest);
    } catch (error) {
      this.logger.warn(`a token revocation was not announced: ${(error as Error).message}`);
    }
  }

  /**
   * Whether the mailbox's token is still the one with `digest`, asked of Redis: for the
   * connections opened with it, once revocations may have been missed (the broadcast is
   * at-most-once). A digest no longer held is forgotten.
   */
  async stillHeld(mailbox: string, digest: string): Promise<boolean> {
    const held = await this.repository.holdsToken(mailbox, digest);
    // A socket checked again keeps its outage grace from this check, not from its opening.
    if (held) this.remember(digest, mailbox);
    else this.verified.delete(digest);
    return held;
  }

  /** Forgets a digest revoked elsewhere (called on the revocation broadcast). */
  forget(digest: string): void {
    this.verified.delete(digest);
  }

  revocationChannel(): string {
    return this.repository.revocationChannel();
  }
}
