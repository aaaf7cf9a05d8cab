import { encodeTime } from 'ulid';
import { ManualClock } from '../common/clock';
import type { DeliveryService } from '../delivery/delivery.service';
import type { Message } from '../messages/message.model';
import { AddressingMode, MessagePriority } from '../messages/message.model';
import type { MessagePage, MessagesService } from '../messages/messages.service';
import { toPushPayload, type StoredMessage } from '../messages/stored-message';
import type { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import type { ChannelListener, RedisPubSubService } from '../redis/redis-pubsub.service';
import { MailboxFeedService } from './mailbox-feed.service';
import type { MailboxRepository } from './mailbox.repository';
import { strict } from '../../test/utils/strict';

const NOW = Date.UTC(2030, 0, 2, 3, 4, 5, 678);

/** A message of `worker` whose id carries the time `at`. */
function stored(at: number, tail: string): StoredMessage {
  const id = encodeTime(at, 10) + tail.padStart(16, '0');
  return {
    id,
    sender: 'planner',
    mode: AddressingMode.DIRECT,
    target: 'worker',
    content: `sent at ${at}`,
    contentType: 'text/plain',
    subject: null,
    metadata: null,
    priority: MessagePriority.NORMAL,
    createdAt: at,
    expiresAt: null,
    requireConfirmation: false,
    correlationId: null,
    replyTo: null,
    threadId: id,
    inReplyTo: null,
    replyBy: null,
    hop: 0,
  };
}

/**
 * A feed over stand-ins the test drives: each page read waits until the test answers it,
 * `publish` reaches the feed's listener, `reconnect` plays a subscriber connection that came
 * back after a drop that began at `downSince`.
 */
function harness() {
  let listener: ChannelListener = () => undefined;
  const reconnects = new Set<(downSince: number) => void>();
  const reads: Array<{ after: string | null; answer: (page: MessagePage) => void }> = [];
  const pubsub = strict<RedisPubSubService>({
    subscribe: (_channel: string, given: ChannelListener) => {
      listener = given;
      return Promise.resolve(() => Promise.resolve());
    },
    onReconnect: (given: (downSince: number) => void) => {
      reconnects.add(given);
      return () => reconnects.delete(given);
    },
  });
  const mailboxes = strict<MailboxRepository>({
    feedChannel: (name: string) => `mailbox:{${name}}:feed`,
    messagesKey: (name: string) => `mailbox:{${name}}:messages`,
    readFlags: (_name: string, ids: string[]) => Promise.resolve(ids.map(() => false)),
  });
  const messages = strict<MessagesService>({
    page: (_index: string, _first: number, after: string | null | undefined) =>
      new Promise<MessagePage>((answer) => reads.push({ after: after ?? null, answer })),
  });
  const delivery = strict<DeliveryService>({
    replayed: () => Promise.resolve(new Map<string, number>()),
    subscriberArrived: () => Promise.resolve(),
  });
  const breaker = strict<RedisCircuitBreaker>({ closed: true });
  const feeds = new MailboxFeedService(
    pubsub,
    mailboxes,
    messages,
    delivery,
    breaker,
    new ManualClock(NOW),
  );
  return {
    feeds,
    reads,
    publish: (message: StoredMessage) => listener(JSON.parse(toPushPayload(message))),
    reconnect: (downSince: number) => {
      for (const given of reconnects) given(downSince);
    },
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function take(feed: AsyncIterableIterator<Message>, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < count; n += 1) {
    const next = await feed.next();
    if (next.done) break;
    ids.push(next.value.id);
  }
  return ids;
}

describe(MailboxFeedService.name, () => {
  it('catches up a drop that came back during its replay, after the replay and before going live', async () => {
    const { feeds, reads, publish, reconnect } = harness();
    const feed = await feeds.open('worker', '0');
    await settle();
    expect(reads.map((read) => read.after)).toEqual(['0']);

    // The connection drops and comes back while the replay reads its last page.
    const drop = NOW - 1_000;
    reconnect(drop);
    const read = stored(NOW - 100, 'B');
    reads[0].answer({ messages: [read], endCursor: read.id, hasNextPage: false });
    await settle();

    // Stored during the drop with an id a little older than one the replay read (made by
    // another instance): only a catch-up from before the drop finds it.
    const skewed = stored(NOW - 500, 'A');
    expect(reads.map((each) => each.after)).toEqual([
      '0',
      encodeTime(drop - 5_000, 10) + '0'.repeat(16),
    ]);
    // Still holding: a live message waits for the catch-up's end.
    const live = stored(NOW + 100, 'C');
    publish(live);
    reads[1].answer({ messages: [skewed, read], endCursor: read.id, hasNextPage: false });

    expect(await take(feed, 3)).toEqual([read.id, skewed.id, live.id]);
    await feed.return?.();
  });

  it('never catches up from before the id it was opened after, however near a drop came', async () => {
    const { feeds, reads, publish, reconnect } = harness();
    // The client holds everything up to `after`, made a second before the drop began.
    const after = stored(NOW - 2_000, 'A').id;
    const feed = await feeds.open('worker', after);
    await settle();
    const read = stored(NOW - 1_500, 'B');
    reads[0].answer({ messages: [read], endCursor: read.id, hasNextPage: false });
    expect(await take(feed, 1)).toEqual([read.id]);

    // A drop that began 1 s after `after`: its margin of 5 s reaches back past it. The newest
    // id pushed is `read`, so the catch-up starts at the older of the two, but at `after` at
    // the earliest.
    reconnect(NOW - 1_000);
    await settle();
    expect(reads.map((each) => each.after)).toEqual([after, after]);
    const later = stored(NOW - 800, 'C');
    reads[1].answer({ messages: [read, later], endCursor: later.id, hasNextPage: false });
    const live = stored(NOW + 100, 'D');
    publish(live);
    expect(await take(feed, 2)).toEqual([later.id, live.id]);
    await feed.return?.();
  });

  it('goes live after its replay when no drop came back meanwhile', async () => {
    const { feeds, reads, publish } = harness();
    const feed = await feeds.open('worker', '0');
    await settle();
    const read = stored(NOW - 100, 'B');
    reads[0].answer({ messages: [read], endCursor: read.id, hasNextPage: false });
    await settle();
    const live = stored(NOW + 100, 'C');
    publish(live);
    expect(await take(feed, 2)).toEqual([read.id, live.id]);
    expect(reads).toHaveLength(1);
    await feed.return?.();
  });
});
