import { AppError } from '../common/app-error';
import { DeliveryStatus } from '../delivery/delivery-confirmation.model';
import type { DeliveryService } from '../delivery/delivery.service';
import type { MessageRouterService } from '../routing/message-router.service';
import { RouteStatus, type RouteResult } from '../routing/route-result.model';
import { MailboxToolsService } from './mailbox-tools.service';

const caller = { kind: 'mailbox' as const, mailbox: 'planner', tokenDigest: 'digest' };

/** The tools over the services given; the rest are never read. */
function toolsOver(services: { router?: MessageRouterService; delivery?: DeliveryService }) {
  const unused = {} as never;
  return new MailboxToolsService(
    services.router ?? unused,
    unused,
    unused,
    unused,
    unused,
    unused,
    services.delivery ?? unused,
    unused,
    unused,
    unused,
    unused,
  );
}

/** The tools over a router that answers `routed`; send reads nothing else. */
function toolsRouting(routed: RouteResult): MailboxToolsService {
  return toolsOver({
    router: { route: () => Promise.resolve(routed) } as unknown as MessageRouterService,
  });
}

const broadcast = { broadcast: true, body: 'to everyone' };
const ID = '01M97D32Q8BNX7J1QVT14Y7P7R';

/** The router's answer for a message of its own thread. */
function routed(status: RouteStatus, recipients: number, error: string | null): RouteResult {
  return {
    messageId: ID,
    threadId: ID,
    status,
    recipients,
    error,
    errorCode: error === null ? null : 'SERVICE_UNAVAILABLE',
  };
}

describe('MailboxToolsService.send', () => {
  it('refuses a broadcast that reached no recipient, with the reason', async () => {
    const why = '2 of 2 recipients failed, first: worker: timeout';
    const tools = toolsRouting(routed(RouteStatus.FAILED, 0, why));
    const refusal = await tools.send(caller, broadcast).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      message: `message ${ID}: ${why}`,
    });
  });

  it('answers a partial broadcast with the recipients it missed', async () => {
    const why = '1 of 2 recipients failed, first: worker: timeout';
    const tools = toolsRouting(routed(RouteStatus.PARTIAL, 1, why));
    expect(await tools.send(caller, broadcast)).toEqual({
      message_id: ID,
      thread_id: ID,
      status: 'PARTIAL',
      recipients: 1,
      error: why,
    });
  });

  it('answers a routed send without an error field', async () => {
    const tools = toolsRouting(routed(RouteStatus.QUEUED, 1, null));
    expect(await tools.send(caller, { to: 'worker', body: 'hi' })).toEqual({
      message_id: ID,
      thread_id: ID,
      status: 'QUEUED',
      recipients: 1,
    });
  });
});

describe('MailboxToolsService.acknowledge', () => {
  it('acknowledges a delivery it confirmed, and answers one that ended otherwise as failed', async () => {
    const late = '01M97D32Q8BNX7J1QVT14Y7P7S';
    const delivery = {
      confirm: (_mailbox: string, id: string) =>
        Promise.resolve(
          id === ID
            ? { status: DeliveryStatus.DELIVERED, reason: null }
            : {
                status: DeliveryStatus.EXPIRED,
                reason: 'the message expired before it was confirmed',
              },
        ),
    } as unknown as DeliveryService;
    const tools = toolsOver({ delivery });
    expect(await tools.acknowledge(caller, [ID, late])).toEqual({
      acknowledged: [ID],
      failed: [{ message_id: late, error: 'EXPIRED: the message expired before it was confirmed' }],
    });
  });
});
