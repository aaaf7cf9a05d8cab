import type { BenchContext } from './context';
import type { Check } from './report';
import { KEY_PREFIX } from './service';

/** The service's index of a mailbox's messages (src/redis/redis-keys.ts, with the bench prefix). */
export function mailboxMessagesKey(mailbox: string): string {
  return `${KEY_PREFIX}mailbox:{${mailbox}}:messages`;
}

const n = (value: number): string => value.toLocaleString('en-US');

/** The sends behind a stored-exactly-once check. */
export interface SendCounts {
  acknowledged: number;
  refused: number;
  /** Sends that got no answer at all: they may or may not have been stored. */
  unanswered: number;
}

/**
 * Every acknowledged send is stored exactly once: `stored` messages (read where `where`
 * says) are as many as were acknowledged; the unanswered sends widen the range that passes.
 */
export function storedCountCheck(
  scenario: string,
  name: string,
  sends: SendCounts,
  stored: number,
  where: string,
): Check {
  const { acknowledged, refused, unanswered } = sends;
  const ok = acknowledged > 0 && stored >= acknowledged && stored <= acknowledged + unanswered;
  const counts = [
    `${n(acknowledged)} acknowledged`,
    refused > 0 ? `${n(refused)} refused` : null,
    unanswered > 0 ? `${n(unanswered)} unanswered` : null,
  ].filter(Boolean);
  return { scenario, name, ok, detail: `${counts.join(', ')}; ${n(stored)} stored (${where})` };
}

/** storedCountCheck for one mailbox of the service (ZCARD of its messages index). */
export async function storedExactlyOnce(
  context: BenchContext,
  scenario: string,
  mailbox: string,
  acknowledged: number,
  refused: number,
  unanswered: number,
  name = 'stored exactly once',
): Promise<Check> {
  const key = mailboxMessagesKey(mailbox);
  const stored = await context.redis.client.zcard(key);
  return storedCountCheck(
    scenario,
    name,
    { acknowledged, refused, unanswered },
    stored,
    `ZCARD ${key}`,
  );
}
