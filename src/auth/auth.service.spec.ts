import { ManualClock } from '../common/clock';
import type { AppConfigService } from '../config/app-config.service';
import type { MailboxRepository } from '../mailboxes/mailbox.repository';
import type { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import { RedisUnavailableError } from '../redis/redis.errors';
import type { AuthRepository } from './auth.repository';
import { AuthService } from './auth.service';
import { ForbiddenError, type MailboxPrincipal } from './principal';
import { issueMailboxToken } from './tokens';
import { strict } from '../../test/utils/strict';

const MINUTE = 60_000;

/**
 * An AuthService whose Redis holds `alice`'s token while `breaker.closed`, with the rate limit
 * at `limit`; `checks` counts what was asked of Redis.
 */
function harness(limit: number) {
  const clock = new ManualClock(Date.UTC(2030, 0, 2));
  const breaker = { closed: true };
  const checks: Array<{ mailbox: string; cost: number }> = [];
  const repository = strict<AuthRepository>({
    checkAndCharge: (mailbox: string, _digest: string, cost: number) => {
      if (!breaker.closed) return Promise.reject(new Error('Redis is away'));
      checks.push({ mailbox, cost });
      return Promise.resolve(0);
    },
    holdsToken: (mailbox: string) => {
      if (!breaker.closed) return Promise.reject(new Error('Redis is away'));
      checks.push({ mailbox, cost: 0 });
      return Promise.resolve(true);
    },
  });
  const config = strict<AppConfigService>({
    auth: { enabled: true, adminToken: 'a'.repeat(32) },
    limits: { rateLimitPerMinute: limit } as AppConfigService['limits'],
  });
  const auth = new AuthService(
    config,
    strict<MailboxRepository>({}),
    repository,
    breaker as RedisCircuitBreaker,
    clock,
  );
  auth.onModuleInit();
  return { auth, clock, breaker, checks };
}

describe(AuthService.name, () => {
  describe.each([0, 1_000])(
    'charging an operation of a connection (RATE_LIMIT_PER_MINUTE=%i)',
    (limit) => {
      it('passes while Redis is away only within the outage grace of the token’s last check', async () => {
        const { auth, clock, breaker } = harness(limit);
        // A WebSocket opened with the token: its principal serves every later operation.
        const principal = (await auth.authenticate(
          `Bearer ${issueMailboxToken('alice')}`,
        )) as MailboxPrincipal;
        expect(principal).toMatchObject({ kind: 'mailbox', mailbox: 'alice' });

        breaker.closed = false;
        clock.advance(4 * MINUTE);
        await expect(auth.charge(principal, 1)).resolves.toBeUndefined();
        clock.advance(2 * MINUTE);
        // Five minutes after the token was last read, as a request with it is refused.
        await expect(auth.charge(principal, 1)).rejects.toBeInstanceOf(RedisUnavailableError);
      });

      it('starts the grace again from each check of an open socket’s token', async () => {
        const { auth, clock, breaker } = harness(limit);
        const principal = (await auth.authenticate(
          `Bearer ${issueMailboxToken('alice')}`,
        )) as MailboxPrincipal;
        clock.advance(4 * MINUTE);
        await expect(auth.stillHeld('alice', principal.tokenDigest)).resolves.toBe(true);

        breaker.closed = false;
        clock.advance(4 * MINUTE);
        await expect(auth.charge(principal, 1)).resolves.toBeUndefined();
        clock.advance(2 * MINUTE);
        await expect(auth.charge(principal, 1)).rejects.toBeInstanceOf(RedisUnavailableError);
      });
    },
  );

  it('starts the grace again from each charge, which reads the token', async () => {
    const { auth, clock, breaker, checks } = harness(1_000);
    const principal = (await auth.authenticate(
      `Bearer ${issueMailboxToken('alice')}`,
    )) as MailboxPrincipal;
    clock.advance(4 * MINUTE);
    await auth.charge(principal, 1);
    expect(checks).toEqual([
      { mailbox: 'alice', cost: 0 },
      { mailbox: 'alice', cost: 1 },
    ]);

    breaker.closed = false;
    clock.advance(4 * MINUTE);
    await expect(auth.charge(principal, 1)).resolves.toBeUndefined();
  });

  it('refuses the admin token where a mailbox token is required, with authentication off too', async () => {
    for (const enabled of [true, false]) {
      const config = strict<AppConfigService>({
        auth: { enabled, adminToken: 'a'.repeat(32) },
      });
      const auth = new AuthService(
        config,
        strict<MailboxRepository>({}),
        strict<AuthRepository>({}),
        { closed: true } as RedisCircuitBreaker,
        new ManualClock(0),
      );
      auth.onModuleInit();
      await expect(auth.authenticateMailbox(`Bearer ${'a'.repeat(32)}`)).rejects.toBeInstanceOf(
        ForbiddenError,
      );
    }
  });

  it('never limits the admin, Redis away or not', async () => {
    const { auth, breaker } = harness(1_000);
    const admin = await auth.authenticate(`Bearer ${'a'.repeat(32)}`);
    breaker.closed = false;
    await expect(auth.charge(admin, 1)).resolves.toBeUndefined();
  });
});
