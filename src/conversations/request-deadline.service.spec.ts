import { ManualClock } from '../common/clock';
import type { AppConfigService } from '../config/app-config.service';
import type { DeliveryNoticeService } from '../delivery/delivery-notice.service';
import type { MessageRepository } from '../messages/message.repository';
import type { RequestDeadlineRepository } from './request-deadline.repository';
import { RequestDeadlineService } from './request-deadline.service';
import { strict } from '../../test/utils/strict';

const NOW = 1_700_000_000_000;
const LEASE_MS = 30_000;

/**
 * The sweep over a backlog of ten full batches of requests that are gone (nothing to tell,
 * only to remove). Each claim yields to timers, as a Redis call does, and the clock moves on
 * 10 s a claim.
 */
function sweepOverBacklog(): {
  deadlines: RequestDeadlineService;
  claimDue: jest.Mock;
  remove: jest.Mock;
} {
  const clock = new ManualClock(NOW);
  const claimDue: jest.Mock = jest.fn(async () => {
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(10_000);
    if (claimDue.mock.calls.length > 10) return [];
    return Array.from({ length: 200 }, (_, index) => `r${index}`);
  });
  const remove = jest.fn(() => Promise.resolve());
  const deadlines = new RequestDeadlineService(
    strict<RequestDeadlineRepository>({ claimDue, remove }),
    strict<MessageRepository>({ envelopes: () => Promise.resolve([null]) }),
    strict<DeliveryNoticeService>({}),
    strict<AppConfigService>({ resilience: { retryLeaseMs: LEASE_MS } as never }),
    clock,
  );
  return { deadlines, claimDue, remove };
}

describe(RequestDeadlineService.name, () => {
  describe('processDue', () => {
    it('stops between batches once the instance is stopping, however much is still due', async () => {
      const { deadlines, claimDue, remove } = sweepOverBacklog();
      expect(await deadlines.processDue(NOW, () => claimDue.mock.calls.length >= 3)).toBe(600);
      expect(claimDue).toHaveBeenCalledTimes(3);
      expect(remove).toHaveBeenCalledTimes(600);
    });

    it('takes the whole backlog when nothing stops it', async () => {
      const { deadlines, claimDue } = sweepOverBacklog();
      expect(await deadlines.processDue(NOW)).toBe(2_000);
      expect(claimDue).toHaveBeenCalledTimes(11);
    });

    it('reports progress after each batch', async () => {
      const { deadlines, claimDue } = sweepOverBacklog();
      const batchesSeen: number[] = [];
      await deadlines.processDue(
        NOW,
        () => claimDue.mock.calls.length >= 4,
        () => batchesSeen.push(claimDue.mock.calls.length),
      );
      expect(batchesSeen).toEqual([1, 2, 3, 4]);
    });

    it('leases each batch from when it is claimed, what is due still decided at the start', async () => {
      const { deadlines, claimDue } = sweepOverBacklog();
      await deadlines.processDue(NOW, () => claimDue.mock.calls.length >= 3);
      // The clock moved on 10 s at each claim: the third batch, claimed 20 s into the run, is
      // held for the whole lease from then.
      expect(claimDue.mock.calls).toEqual([
        [NOW, NOW + LEASE_MS, 200],
        [NOW, NOW + 10_000 + LEASE_MS, 200],
        [NOW, NOW + 20_000 + LEASE_MS, 200],
      ]);
    });
  });
});
