import { Clock } from '../common/clock';
import { ReplyError } from 'ioredis';
import { AppError } from '../common/app-error';
import type { AppConfigService } from '../config/app-config.service';
import type { DeliveryNotice, DeliveryNoticeService } from '../delivery/delivery-notice.service';
import { AddressingMode, MessagePriority } from '../messages/message.model';
import type { StoredMessage } from '../messages/stored-message';
import type { StatisticsService } from '../metrics/statistics.service';
import type { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import type { RedisTopology } from '../redis/redis-topology.service';
import type { QueuedSend } from './outage-queue';
import { drainVerdict, OutageQueueService, type QueuedSendStore } from './outage-queue.service';
import {
  OutageQueueBytesError,
  OutageQueueClosedError,
  OutageQueueFullError,
} from './routing.errors';
import { strict } from '../../test/utils/strict';

function reply(message: string): Error {
  return new (ReplyError as new (message: string) => Error)(message);
}

const OOM = reply(
  "OOM command not allowed when used memory > 'maxmemory'. script: 6a1f, on @user_script:12.",
);
const WRONGTYPE = reply('WRONGTYPE Operation against a key holding the wrong kind of value');

function send(id: string): QueuedSend {
  const message: StoredMessage = {
    id,
    sender: `sender-${id}`,
    mode: AddressingMode.DIRECT,
    target: 'b',
    content: id,
    contentType: 'text/plain',
    subject: null,
    metadata: null,
    priority: MessagePriority.NORMAL,
    createdAt: 1,
    expiresAt: null,
    requireConfirmation: false,
    correlationId: null,
    replyTo: null,
    threadId: id,
    inReplyTo: null,
    replyBy: null,
    hop: 0,
  };
  return { message, idempotencyKey: null };
}

/** A Redis stand-in for the router's store step: fails each id as told, records the rest. */
class FakeStore implements QueuedSendStore {
  readonly stored: string[] = [];
  readonly discarded: string[] = [];
  readonly failures = new Map<string, Error>();

  store(entry: QueuedSend): Promise<void> {
    const failure = this.failures.get(entry.message.id);
    if (failure !== undefined) return Promise.reject(failure);
    this.stored.push(entry.message.id);
    return Promise.resolve();
  }

  discard(entry: QueuedSend): Promise<void> {
    this.discarded.push(entry.message.id);
    return Promise.resolve();
  }
}

describe(drainVerdict.name, () => {
  it.each([
    ['a connection lost', 'wait', new Error('Connection is closed.')],
    ['Redis out of memory', 'wait', OOM],
    [
      'a read-only standalone Redis',
      'wait',
      reply("READONLY You can't write against a read only replica."),
    ],
    ['a wrong key type', 'drop', WRONGTYPE],
    ['a script error', 'drop', reply('ERR user_script:1: boom script: 57b1, on @user_script:1.')],
    ['a refusal of the send', 'drop', new AppError('NOT_FOUND', 'target: b is not registered')],
    ['a bug', 'drop', new TypeError("Cannot read properties of undefined (reading 'id')")],
  ])('%s: %s', (_, verdict, error) => {
    expect(drainVerdict(error)).toBe(verdict);
  });
});

describe(OutageQueueService.name, () => {
  let breakerClosed: boolean;
  let told: Array<{ sender: string; notice: DeliveryNotice }>;
  let store: FakeStore;
  let service: OutageQueueService;

  beforeEach(() => {
    breakerClosed = false;
    told = [];
    store = new FakeStore();
    const config = strict<AppConfigService>({
      resilience: {
        outageQueueSize: 3,
        outageQueueBytes: 64 * 1024,
        spoolDir: null,
        retryLeaseMs: 30_000,
        breakerCooldownMs: 1_000,
        shutdownGraceMs: 1_000,
        shutdownDrainDelayMs: 0,
      },
      redis: {
        url: 'redis://127.0.0.1:6379',
        keyPrefix: 't:',
        database: 0,
        clusterNodes: [],
        sentinels: [],
        sentinelMaster: 'mymaster',
        commandTimeoutMs: 1_000,
        waitReplicas: 0,
        waitTimeoutMs: 100,
      },
    });
    const breaker = strict<RedisCircuitBreaker>({
      get closed() {
        return breakerClosed;
      },
    });
    const notices = strict<DeliveryNoticeService>({
      tell: (sender: string, notice: DeliveryNotice) => {
        told.push({ sender, notice });
        return Promise.resolve();
      },
    });
    const statistics = strict<StatisticsService>({ increment: () => undefined });
    const topology = strict<RedisTopology>({ mode: 'standalone' });
    service = new OutageQueueService(config, breaker, notices, statistics, topology, new Clock());
    service.attach(store);
  });

  afterEach(() => {
    jest.useRealTimers();
  });

  function queue(...ids: string[]): void {
    for (const id of ids) service.accept(send(id));
  }

  it('holds sends while Redis is away and stores them in order once it answers', async () => {
    queue('1', '2', '3');
    expect(service.mustQueue).toBe(true);
    await service.flush();
    expect(store.stored).toEqual([]);

    breakerClosed = true;
    await service.flush();
    expect(store.stored).toEqual(['1', '2', '3']);
    expect(service.size).toBe(0);
    expect(service.mustQueue).toBe(false);
  });

  it('refuses a send past OUTAGE_QUEUE_SIZE', () => {
    queue('1', '2', '3');
    expect(() => queue('4')).toThrow(OutageQueueFullError);
    expect(service.size).toBe(3);
  });

  it('refuses a send past OUTAGE_QUEUE_BYTES, naming the limit, and keeps the sends before it', () => {
    queue('1');
    const big = send('2');
    big.message.content = 'x'.repeat(64 * 1024);
    expect(() => service.accept(big)).toThrow(OutageQueueBytesError);
    try {
      service.accept(big);
    } catch (error) {
      expect(error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { limit: 64 * 1024 } });
      expect((error as Error).message).toContain('OUTAGE_QUEUE_BYTES');
    }
    expect(service.size).toBe(1);
  });

  it('takes no send once shutting down: it would be answered QUEUED and kept only in memory', async () => {
    queue('1');
    breakerClosed = true;
    await service.beforeApplicationShutdown();
    expect(store.stored).toEqual(['1']);
    expect(() => queue('2')).toThrow(OutageQueueClosedError);
    const refusal = (() => {
      try {
        queue('3');
      } catch (error) {
        return error as AppError;
      }
    })();
    expect(refusal).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      details: { retryAfterSeconds: 1 },
    });
    expect(service.size).toBe(0);
  });

  it('drops a send that Redis refuses for good, tells its sender, and stores the sends after it', async () => {
    queue('1', '2', '3');
    store.failures.set('2', WRONGTYPE);
    breakerClosed = true;
    await service.flush();

    expect(store.stored).toEqual(['1', '3']);
    expect(store.discarded).toEqual(['2']);
    expect(told.map(({ sender, notice }) => [sender, notice.type, notice.messageId])).toEqual([
      ['sender-2', 'delivery.failed', '2'],
    ]);
    expect(told[0].notice.reason).toContain('WRONGTYPE');
    expect(service.size).toBe(0);
  });

  it('drops a send that fails with an error that is not Redis at all, so it cannot hold up the rest', async () => {
    queue('1', '2');
    store.failures.set('1', new TypeError("Cannot read properties of undefined (reading 'id')"));
    breakerClosed = true;
    await service.flush();
    expect(store.stored).toEqual(['2']);
    expect(told.map(({ notice }) => notice.messageId)).toEqual(['1']);
  });

  it('keeps the head and everything after it while Redis fails transiently', async () => {
    queue('1', '2');
    store.failures.set('1', new Error('Connection is closed.'));
    breakerClosed = true;
    await service.flush();
    expect(store.stored).toEqual([]);
    expect(service.size).toBe(2);
    expect(service.storeRefusal).toBeNull();

    store.failures.clear();
    await service.flush();
    expect(store.stored).toEqual(['1', '2']);
    expect(told).toEqual([]);
  });

  it('keeps queued sends while Redis is out of memory, refuses new ones with STORE_FULL, and stores them once Redis takes writes', async () => {
    jest.useFakeTimers({
      now: 1_000_000,
      doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'],
    });
    queue('1', '2');
    store.failures.set('1', OOM);
    breakerClosed = true;
    await service.flush();
    expect(service.size).toBe(2);
    expect(told).toEqual([]);
    expect(service.storeRefusal?.code).toBe('STORE_FULL');
    expect(service.storeRefusal?.details.retryAfterSeconds).toBeGreaterThan(0);

    store.failures.clear();
    jest.setSystemTime(1_000_000 + 5_000);
    await service.flush();
    expect(store.stored).toEqual(['1', '2']);
    expect(service.storeRefusal).toBeNull();
  });
});
