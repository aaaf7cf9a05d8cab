import type { DeliveryConfirmationRepository } from '../delivery/delivery-confirmation.repository';
import type { MailboxRepository } from '../mailboxes/mailbox.repository';
import type { JobRunner } from '../scheduling/job-runner.service';
import { RouterStatisticsService } from './router-statistics.service';
import type { Counter, StatisticsService } from './statistics.service';
import { strict } from '../../test/utils/strict';

describe(RouterStatisticsService.name, () => {
  it('reads activeConfirmations from the pending lists of every registered mailbox', async () => {
    const counters: Record<Counter, number> = {
      messagesRouted: 5,
      messagesDelivered: 3,
      messagesFailed: 1,
      messagesRetried: 4,
      routingErrors: 0,
      validationErrors: 2,
      tokensSent: 40,
      guardRefusals: 1,
    };
    const pendingCount = jest.fn((names: string[]) => Promise.resolve(names.length * 2));
    const statistics = new RouterStatisticsService(
      strict<StatisticsService>({ read: () => Promise.resolve(counters) }),
      strict<DeliveryConfirmationRepository>({
        pendingCount,
        scheduledCount: () => Promise.resolve(7),
      }),
      strict<MailboxRepository>({ allNames: () => Promise.resolve(['alice', 'bob', 'carol']) }),
      strict<JobRunner>({ allAlive: true }),
    );
    expect(await statistics.read()).toEqual({
      ...counters,
      activeConfirmations: 6,
      pendingDeliveries: 7,
      running: true,
    });
    expect(pendingCount).toHaveBeenCalledWith(['alice', 'bob', 'carol']);
  });
});
