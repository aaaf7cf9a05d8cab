import type { BenchContext } from './context';
import type { Check } from './report';
import { KEY_PREFIX } from './service';

/** The service's index of a mailbox's messages (src/redis/redis-keys.ts, with the bench prefix). */
export function mailboxMessagesKey(mailbox: string): string {
  return `${KEY_PREFIX}mailbox:{${mailbox}}:messages`;
}

/**
 * Every acknowledged send is stored exactly once: the mailbox holds as many messages as
 * were acknowledged. Requests that got no answer at all may or may not have been stored,
 * so they widen the range that passes.
 */
export async function storedExactlyOnce(
  context: BenchContext,
  scenario: string,
  mailbox: string,
  acknowledged: number,
  refused: number,
  unanswered: number,
): Promise<Check> {
  const key = mailboxMessagesKey(mailbox);
  const stored = await context.redis.client.zcard(key);
  const ok = acknowledged > 0 && stored >= acknowledged && stored <= acknowledged + unanswered;
  const counts = [
    `${acknowledged.toLocaleString('en-US')} acknowledged`,
    refused > 0 ? `${refused.toLocaleString('en-US')} refused` : null,
    unanswered > 0 ? `${unanswered.toLocaleString('en-US')} unanswered` : null,
  ].filter(Boolean);
  return {
    scenario,
    name: 'stored exactly once',
    ok,
    detail: `${counts.join(', ')}; ${stored.toLocaleString('en-US')} stored (ZCARD ${key})`,
  };
}
