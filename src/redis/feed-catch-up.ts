import { encodeTime } from 'ulid';
import { AppError } from '../common/app-error';
import type { Clock } from '../common/clock';
import type { RedisCircuitBreaker } from './redis-circuit-breaker';
import { RedisUnavailableError } from './redis.errors';

/** How long a feed waits for Redis to answer again before it gives up on catching up. */
const CATCH_UP_PATIENCE_MS = 60_000;
/** Between a feed's tries to catch up while Redis does not answer yet. */
const CATCH_UP_RETRY_MS = 200;
/**
 * A catch-up after a drop starts this long before the drop (or at the newest id pushed, if
 * older): ids are made by the instance that accepted the send, so a message stored during
 * the drop may carry an id a little older than one pushed before it (another instance, a
 * send that waited on replicas or in the local queue). Twins are dropped by id.
 */
const CATCH_UP_MARGIN_MS = 5_000;

/**
 * Where a feed's catch-up after a drop of the subscriber connection begins: a little before
 * the drop (`downSince`, epoch ms), or at `newest`, the newest id it pushed, if that is older;
 * never before `floor`, the id the feed was opened after (or where a live feed began), when
 * given: a drop within the margin of it must not hand over what the client already holds.
 */
export function catchUpCursor(
  downSince: number,
  newest: string,
  floor: string | null = null,
): string {
  const margin = encodeTime(Math.max(0, downSince - CATCH_UP_MARGIN_MS), 10) + '0'.repeat(16);
  const cursor = margin < newest ? margin : newest;
  return floor !== null && cursor < floor ? floor : cursor;
}

/**
 * Runs what catches up after the subscriber connection came back (a feed's replay, a check
 * of what a missed broadcast would have said) once the command connection answers too (it
 * reconnects on its own schedule, and the subscriber connection may be back first), retrying
 * on Redis failures for a while. Returns at once when its user has ended (`ended`).
 */
export async function whenStoreAnswers(
  breaker: RedisCircuitBreaker,
  clock: Clock,
  ended: () => boolean,
  work: () => Promise<void>,
): Promise<void> {
  const deadline = clock.now() + CATCH_UP_PATIENCE_MS;
  for (;;) {
    if (ended()) return;
    if (breaker.closed) {
      try {
        await work();
        return;
      } catch (error) {
        if (error instanceof AppError || clock.now() > deadline) throw error;
      }
    } else if (clock.now() > deadline) {
      throw new RedisUnavailableError('the feed could not catch up after Redis came back');
    }
    await new Promise((resolve) => setTimeout(resolve, CATCH_UP_RETRY_MS));
  }
}
