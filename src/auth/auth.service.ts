import { randomBytes } from 'node:crypto';
import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { AppConfigService } from '../config/app-config.service';
import { MailboxRepository } from '../mailboxes/mailbox.repository';
import { MailboxNotFoundError } from '../mailboxes/mailbox.errors';
import { assertMailboxName } from '../routing/address';
import { RateLimitedError } from './auth.errors';
import { AuthRepository } from './auth.repository';
import { ADMIN, UnauthenticatedError, type Principal } from './principal';
import { bearerToken, issueMailboxToken, sameSecret, tokenDigest, tokenMailbox } from './tokens';

/**
 * Tokens: the operator's ADMIN_TOKEN and each mailbox's own, stored only as SHA-256 digests.
 * Every check reads the digest from Redis, so a rotated or revoked token fails at once on
 * every instance.
 */
@Injectable()
export class AuthService implements OnModuleInit {
  private readonly logger = new Logger(AuthService.name);
  private adminToken = '';

  constructor(
    private readonly config: AppConfigService,
    private readonly mailboxes: MailboxRepository,
    private readonly repository: AuthRepository,
  ) {}

  get enabled(): boolean {
    return this.config.auth.enabled;
  }

  onModuleInit(): void {
    const { enabled, adminToken } = this.config.auth;
    if (!enabled) {
      this.logger.warn(
        'AUTH_ENABLED=false: every operation is open to anyone who can reach the service.',
      );
      return;
    }
    if (adminToken) {
      this.adminToken = adminToken;
      return;
    }
    // Production refuses to start without ADMIN_TOKEN (see the configuration rules).
    this.adminToken = `adm_${randomBytes(32).toString('base64url')}`;
    this.logger.warn(
      `ADMIN_TOKEN is not set: this process generated one (valid until it stops): ${this.adminToken}`,
    );
  }

  /** The principal of an `Authorization` value; throws UNAUTHENTICATED for none or a bad one. */
  async authenticate(authorization: unknown): Promise<Principal> {
    if (!this.enabled) return ADMIN;
    if (authorization === undefined || authorization === null || authorization === '') {
      throw new UnauthenticatedError('no token was sent');
    }
    const token = bearerToken(authorization);
    if (!token) throw new UnauthenticatedError('the value is not of the form "Bearer <token>"');
    if (sameSecret(token, this.adminToken)) return ADMIN;
    const mailbox = tokenMailbox(token);
    if (mailbox) {
      const stored = await this.mailboxes.tokenDigest(mailbox);
      const digest = tokenDigest(token);
      if (stored && sameSecret(digest, stored))
        return { kind: 'mailbox', mailbox, tokenDigest: digest };
    }
    throw new UnauthenticatedError('the token is not valid (unknown, rotated or revoked)');
  }

  /** Charges an operation to the principal's rate limit; the admin is not limited. */
  async charge(principal: Principal, cost: number): Promise<void> {
    const limit = this.config.limits.rateLimitPerMinute;
    if (principal.kind === 'admin' || limit === 0 || cost <= 0) return;
    const waitMs = await this.repository.consume(principal.mailbox, limit, cost);
    if (waitMs > 0) throw new RateLimitedError(limit, waitMs);
  }

  /** A new token for the mailbox; the previous one stops working everywhere at once. */
  async rotate(nameArg: string): Promise<string> {
    const name = assertMailboxName(nameArg, 'name');
    const token = issueMailboxToken(name);
    const previous = await this.mailboxes.replaceTokenDigest(name, tokenDigest(token));
    if (previous === false) throw new MailboxNotFoundError(name);
    if (previous) await this.repository.announceRevocation(previous);
    return token;
  }

  /** Revokes the mailbox's token: it fails at once, and its open subscriptions end. */
  async revoke(nameArg: string): Promise<void> {
    const name = assertMailboxName(nameArg, 'name');
    const previous = await this.mailboxes.replaceTokenDigest(name, null);
    if (previous === false) throw new MailboxNotFoundError(name);
    if (previous) await this.repository.announceRevocation(previous);
  }

  revocationChannel(): string {
    return this.repository.revocationChannel();
  }
}
