import type { AuthService } from '../auth/auth.service';
import { AppError } from '../common/app-error';
import { DeliveryStatus } from '../delivery/delivery-confirmation.model';
import type { DeliveryService } from '../delivery/delivery.service';
import type { InboxService } from '../inbox/inbox.service';
import type { MailboxRepository } from '../mailboxes/mailbox.repository';
import type { PresenceService } from '../mailboxes/presence.service';
import { AddressingMode, MessagePriority } from '../messages/message.model';
import { toPushPayload, type StoredMessage } from '../messages/stored-message';
import type { SigningKeysService } from '../provenance/signing-keys.service';
import type { ChannelListener, RedisPubSubService } from '../redis/redis-pubsub.service';
import type { MessageRouterService } from '../routing/message-router.service';
import { RouteStatus, type RouteResult } from '../routing/route-result.model';
import { MailboxToolsService } from './mailbox-tools.service';
import type { WaitLockRepository } from './wait-lock.repository';

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

// waitForMessage over in-memory stand-ins for Redis: what it does with its subscriptions, the
// unread list, the delivery service and the token, step by step. The e2e suite
// (test/e2e/mcp-waits.e2e-spec.ts) runs the same over real Redis.

const MAILBOX = 'worker';
const FEED = `feed:${MAILBOX}`;
const REVOCATIONS = 'auth:revocations';

function stored(id: string, extra: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id,
    sender: 'planner',
    mode: AddressingMode.DIRECT,
    target: MAILBOX,
    content: `body of ${id}`,
    contentType: 'text/plain',
    subject: null,
    metadata: null,
    priority: MessagePriority.NORMAL,
    createdAt: Date.UTC(2026, 0, 1),
    expiresAt: null,
    requireConfirmation: true,
    correlationId: null,
    replyTo: null,
    threadId: id,
    inReplyTo: null,
    replyBy: null,
    hop: 0,
    ...extra,
  };
}

/** Pub/sub in memory: `connected` as told, SUBSCRIBEs confirmed at once unless held. */
class FakePubSub {
  connected = true;
  /** While set, a SUBSCRIBE is confirmed only when `confirm` is called. */
  hold = false;
  readonly listeners = new Map<string, Set<ChannelListener>>();
  private readonly held: Array<() => void> = [];

  subscribe(channel: string, listener: ChannelListener): Promise<() => Promise<void>> {
    const listeners = this.listeners.get(channel) ?? new Set();
    this.listeners.set(channel, listeners);
    listeners.add(listener);
    const unsubscribe = (): Promise<void> => {
      listeners.delete(listener);
      return Promise.resolve();
    };
    if (!this.hold) return Promise.resolve(unsubscribe);
    return new Promise((resolve) => this.held.push(() => resolve(unsubscribe)));
  }

  confirm(): void {
    for (const confirm of this.held.splice(0)) confirm();
  }

  count(channel: string): number {
    return this.listeners.get(channel)?.size ?? 0;
  }

  publish(channel: string, payload: string): void {
    for (const listener of this.listeners.get(channel) ?? []) listener(JSON.parse(payload));
  }
}

interface Harness {
  tools: MailboxToolsService;
  pubsub: FakePubSub;
  unread: StoredMessage[];
  /** Whether the caller's token is still the mailbox's. */
  held: { value: boolean };
  markRead: jest.Mock;
  replayed: jest.Mock;
  subscriberArrived: jest.Mock;
  acquire: jest.Mock;
  release: jest.Mock;
}

function harness(): Harness {
  const pubsub = new FakePubSub();
  const unread: StoredMessage[] = [];
  const held = { value: true };
  const markRead = jest.fn(() => Promise.resolve());
  const replayed = jest.fn((_mailbox: string, messages: StoredMessage[]) =>
    Promise.resolve(new Map(messages.map((message) => [message.id, 1]))),
  );
  const subscriberArrived = jest.fn(() => Promise.resolve());
  const acquire = jest.fn(() => Promise.resolve('owner'));
  const release = jest.fn(() => Promise.resolve());
  const unused = {} as never;
  const tools = new MailboxToolsService(
    unused,
    {
      unreadMatching: () =>
        Promise.resolve({ messages: unread, endCursor: null, hasNextPage: false }),
      markRead,
    } as unknown as InboxService,
    unused,
    unused,
    { feedChannel: (name: string) => `feed:${name}` } as unknown as MailboxRepository,
    { seen: () => undefined } as unknown as PresenceService,
    { replayed, subscriberArrived } as unknown as DeliveryService,
    pubsub as unknown as RedisPubSubService,
    {
      acquire,
      release,
      cancelChannel: (name: string) => `cancels:${name}`,
    } as unknown as WaitLockRepository,
    unused,
    {
      revocationChannel: () => REVOCATIONS,
      stillHeld: () => Promise.resolve(held.value),
    } as unknown as AuthService,
    { now: () => Date.now() },
    unused,
    { verify: () => Promise.resolve(true) } as unknown as SigningKeysService,
  );
  return { tools, pubsub, unread, held, markRead, replayed, subscriberArrived, acquire, release };
}

const waiter = { kind: 'mailbox' as const, mailbox: MAILBOX, tokenDigest: 'digest-of-worker' };

function waitOptions(signal = new AbortController().signal, timeoutS = 5) {
  return { timeoutS, threadId: null, from: null, markRead: true, signal, requestId: '7' };
}

/** Resolves once `check` holds, looking every few milliseconds. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 2));
}

describe('MailboxToolsService.waitForMessage', () => {
  it('counts handing over unread tracked messages as their delivery attempts', async () => {
    const h = harness();
    h.unread.push(stored('01M97D32Q8BNX7J1QVT14Y7P80'), stored('01M97D32Q8BNX7J1QVT14Y7P81'));
    h.replayed.mockResolvedValueOnce(new Map([['01M97D32Q8BNX7J1QVT14Y7P81', 2]]));
    const outcome = await h.tools.waitForMessage(waiter, waitOptions());
    expect(h.replayed).toHaveBeenCalledWith(MAILBOX, h.unread);
    // Nothing waits to be pushed to a wait that answers from the unread list.
    expect(h.subscriberArrived).not.toHaveBeenCalled();
    expect(outcome.messages.map((message) => message.delivery_attempt)).toEqual([undefined, 2]);
    expect(h.markRead).toHaveBeenCalledWith(
      MAILBOX,
      ['01M97D32Q8BNX7J1QVT14Y7P80', '01M97D32Q8BNX7J1QVT14Y7P81'],
      null,
    );
  });

  it('with nothing unread, has the deliveries waiting for a subscriber pushed to it, and answers them together', async () => {
    const h = harness();
    const first = stored('01M97D32Q8BNX7J1QVT14Y7P82');
    const second = stored('01M97D32Q8BNX7J1QVT14Y7P83');
    h.subscriberArrived.mockImplementation(() => {
      h.pubsub.publish(FEED, toPushPayload(first, 2));
      h.pubsub.publish(FEED, toPushPayload(second, 3));
      return Promise.resolve();
    });
    const outcome = await h.tools.waitForMessage(waiter, waitOptions());
    expect(h.subscriberArrived).toHaveBeenCalledWith(MAILBOX, expect.anything());
    // Each push was its attempt already: nothing more is counted.
    expect(h.replayed).not.toHaveBeenCalled();
    expect(outcome.status).toBe('messages');
    expect(
      outcome.messages.map((message) => [message.message_id, message.delivery_attempt]),
    ).toEqual([
      [first.id, 2],
      [second.id, 3],
    ]);
  });

  it('refuses to hand messages to a token that is no longer the mailbox’s, and leaves them unread', async () => {
    const h = harness();
    h.unread.push(stored('01M97D32Q8BNX7J1QVT14Y7P84'));
    h.held.value = false;
    const refusal = await h.tools.waitForMessage(waiter, waitOptions()).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect((refusal as AppError).message).toMatch(/^authorization: /);
    expect(h.markRead).not.toHaveBeenCalled();
    expect(h.replayed).not.toHaveBeenCalled();
    expect(h.release).toHaveBeenCalled();
  });

  it('ends UNAUTHENTICATED when its token’s revocation is announced, and not for another token', async () => {
    const h = harness();
    const waiting = h.tools.waitForMessage(waiter, waitOptions()).catch((e: unknown) => e);
    await until(() => h.pubsub.count(FEED) === 1);
    h.pubsub.publish(REVOCATIONS, JSON.stringify({ digest: 'digest-of-someone-else' }));
    h.pubsub.publish(REVOCATIONS, JSON.stringify({ digest: waiter.tokenDigest }));
    expect(await waiting).toMatchObject({ code: 'UNAUTHENTICATED' });
    // Every subscription is undone, and the mailbox is free.
    expect([...h.pubsub.listeners.values()].every((listeners) => listeners.size === 0)).toBe(true);
    expect(h.release).toHaveBeenCalled();
  });

  it('answers SERVICE_UNAVAILABLE with a time to retry while the subscriber connection is down, holding nothing', async () => {
    const h = harness();
    h.pubsub.connected = false;
    const refusal = await h.tools.waitForMessage(waiter, waitOptions()).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(AppError);
    expect(refusal).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      details: { retryAfterSeconds: expect.any(Number) as number },
    });
    expect((refusal as AppError).message).toMatch(/^wait_for_message: /);
    expect(h.acquire).not.toHaveBeenCalled();
    expect(h.pubsub.listeners.size).toBe(0);
  });

  it('does not wait past its timeout or its client for a SUBSCRIBE Redis has not confirmed', async () => {
    const h = harness();
    h.pubsub.hold = true;
    const gone = new AbortController();
    const started = Date.now();
    const waiting = h.tools.waitForMessage(waiter, waitOptions(gone.signal, 30));
    await until(() => h.pubsub.count(`cancels:${MAILBOX}`) === 1);
    gone.abort();
    expect(await waiting).toMatchObject({ status: 'timeout', messages: [] });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(h.release).toHaveBeenCalled();
    // The SUBSCRIBE confirmed late is undone then.
    h.pubsub.confirm();
    await until(() => h.pubsub.count(`cancels:${MAILBOX}`) === 0);

    const timed = harness();
    timed.pubsub.hold = true;
    const before = Date.now();
    expect(await timed.tools.waitForMessage(waiter, waitOptions(undefined, 1))).toMatchObject({
      status: 'timeout',
    });
    expect(Date.now() - before).toBeLessThan(3_000);
  });
});
