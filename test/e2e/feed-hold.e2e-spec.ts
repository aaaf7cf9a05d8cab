import { HELD_BYTE_LIMIT } from '../../src/messages/held-messages';
import type { Message } from '../../src/messages/message.model';
import type { SendMessageInput } from '../../src/messages/send-message.input';
import { MailboxFeedService } from '../../src/mailboxes/mailbox-feed.service';
import { MessagesService } from '../../src/messages/messages.service';
import { MessageRouterService } from '../../src/routing/message-router.service';
import { TopicFeedService } from '../../src/topics/topic-feed.service';
import { directInput, topicInput, type SendInput } from '../factories/messages';
import { connectWs, LiveSubscription } from '../utils/graphql-client';
import { RedisServer } from '../utils/redis-server';
import { registerMailboxes } from '../utils/service';
import { startTestApp, type TestApp } from '../utils/test-app';

const KiB = 1024;
const CONTENT = 'x'.repeat(64 * KiB);
/** Stored before the feed opens: more than half a feed's bytes, so its replay waits for room. */
const STORED = 100;
/** Sent live while the replay waits: more bytes than a feed holds during a catch-up. */
const LIVE = Math.ceil(HELD_BYTE_LIMIT / CONTENT.length) + 4;

/**
 * A feed opened from a cursor replays what is stored while it holds what arrives live. Its
 * consumer paces the replay; one that stops pulling while more arrives live than the hold
 * takes is ended with how to resume, rather than held in memory without bound.
 */
describe('a feed whose consumer holds its catch-up back', () => {
  let redis: RedisServer;
  let service: TestApp;

  beforeAll(async () => {
    redis = await RedisServer.start();
    service = await startTestApp(redis.url);
    await registerMailboxes(service.baseUrl, 'sender', 'slow');
  });

  afterAll(async () => {
    await service?.close();
    await redis?.destroy();
  });

  async function sendAll(make: (index: number) => SendInput, count: number): Promise<void> {
    const router = service.app.get(MessageRouterService);
    for (let index = 0; index < count; index += 10) {
      await Promise.all(
        Array.from({ length: Math.min(10, count - index) }, (_, offset) =>
          router.route(make(index + offset) as unknown as SendMessageInput),
        ),
      );
    }
  }

  /** Pulls the feed until it ends; what it gave, and the error it ended with. */
  async function drain(
    feed: AsyncIterableIterator<Message>,
    atMost: number,
  ): Promise<{ received: number; error: Error | null }> {
    let received = 0;
    try {
      while (received < atMost) {
        const step = await feed.next();
        if (step.done) break;
        received += 1;
      }
    } catch (error) {
      return { received, error: error as Error };
    }
    await feed.return?.();
    return { received, error: null };
  }

  it('ends a mailbox feed when more arrives live during its replay than it holds', async () => {
    const content = (index: number) => ({ content: `${index} ${CONTENT}` });
    await sendAll((index) => directInput('sender', 'slow', content(index)), STORED);
    const feed = await service.app.get(MailboxFeedService).open('slow', '0');
    // Nobody pulls: the replay stops at half the feed's bytes, and the live messages are held.
    await sendAll((index) => directInput('sender', 'slow', content(STORED + index)), LIVE);
    const { received, error } = await drain(feed, STORED + LIVE);
    expect(error?.message).toMatch(/arrived live during the catch-up; resubscribe with after/);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', details: { reason: 'SLOW_CONSUMER' } });
    // What was buffered before the end still came; the rest is for a resumed feed to read.
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(STORED + LIVE);
  }, 60_000);

  it('tells a WebSocket client a feed that failed as it runs with a code, and a bug as no more than one', async () => {
    const messages = service.app.get(MessagesService);
    const page = jest
      .spyOn(messages, 'page')
      .mockRejectedValueOnce(new TypeError("Cannot read properties of undefined (reading 'x')"));
    const ws = await connectWs(service.wsUrl);
    try {
      const feed = new LiveSubscription<unknown>(
        ws,
        'subscription F($m: String!, $a: ID) { mailboxMessages(mailbox: $m, after: $a) { id } }',
        { m: 'slow', a: '0' },
        (data) => data.mailboxMessages,
      );
      await feed.waitForEnd();
      expect(page).toHaveBeenCalled();
      expect(feed.errors).toEqual([
        expect.objectContaining({
          message: 'internal server error',
          extensions: expect.objectContaining({ code: 'INTERNAL_SERVER_ERROR' }) as unknown,
        }),
      ]);
    } finally {
      page.mockRestore();
      await ws.dispose();
    }
  });

  it('ends a topic feed the same way', async () => {
    const content = (index: number) => ({ content: `${index} ${CONTENT}` });
    await sendAll((index) => topicInput('sender', 'hold.a', content(index)), STORED);
    const feed = await service.app.get(TopicFeedService).open('hold.*', '0');
    await sendAll((index) => topicInput('sender', 'hold.a', content(STORED + index)), LIVE);
    const { received, error } = await drain(feed, STORED + LIVE);
    expect(error?.message).toMatch(/arrived live during the catch-up; resubscribe with after/);
    // What was buffered before the end still came; the rest is for a resumed feed to read.
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(STORED + LIVE);
  }, 60_000);
});
