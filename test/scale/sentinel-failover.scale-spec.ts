import type { Client } from 'graphql-ws';
import { MAILBOX_FEED, type MessageView } from '../utils/documents';
import { sendLoad, waitForEmptyOutageQueue, mailboxIds } from '../utils/fault-helpers';
import { connectWs, eventually, LiveSubscription } from '../utils/graphql-client';
import { SentinelBackend } from '../utils/redis-backend';
import { registerMailboxes } from '../utils/service';
import { ServiceProcess } from '../utils/service-process';
import { uniquePrefix } from '../utils/test-app';

const SENDS = 1_000;
/** The failover starts once this many sends are answered. */
const FAILOVER_AFTER = 300;

async function metric(service: ServiceProcess, name: string): Promise<number> {
  const text = await (await fetch(`${service.baseUrl}/metrics`)).text();
  const line = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return line ? Number(line[1]) : NaN;
}

describe('a Sentinel failover during 1,000 sends (two instances)', () => {
  let backend: SentinelBackend;
  let services: ServiceProcess[] = [];
  let ws: Client;

  beforeAll(async () => {
    backend = await SentinelBackend.start({ replicas: 1, sentinels: 3 });
    const environment = {
      ...backend.environment,
      REDIS_KEY_PREFIX: uniquePrefix(),
      // A send is acknowledged once the replica holds it, so the promoted replica has it.
      REDIS_WAIT_REPLICAS: '1',
      REDIS_WAIT_TIMEOUT: '0.5',
      REDIS_COMMAND_TIMEOUT: '1',
      RATE_LIMIT_PER_MINUTE: '100000',
    };
    services = await Promise.all([
      ServiceProcess.start(environment),
      ServiceProcess.start(environment),
    ]);
    await registerMailboxes(services[0].baseUrl, 'writer-0', 'writer-1', 'reader');
    ws = await connectWs(services[1].wsUrl);
  }, 60_000);

  afterAll(async () => {
    await ws?.dispose();
    await Promise.all(services.map((service) => service.stop()));
    await backend?.destroy();
  });

  it('keeps every acknowledged send exactly once, and the subscriber resumes by itself', async () => {
    const feed = new LiveSubscription<MessageView>(
      ws,
      MAILBOX_FEED,
      { mailbox: 'reader' },
      (data) => data.mailboxMessages as MessageView,
    );
    await eventually(async () => (await metric(services[1], 'mailbox_subscribed_channels')) >= 1);

    let failover: Promise<{ from: number; to: number }> | null = null;
    const startFailover = (answered: number): void => {
      if (answered >= FAILOVER_AFTER && failover === null) failover = backend.group.failover();
    };
    // Half the sends through each instance, at the same time, 4 in flight on each.
    const halves = await Promise.all(
      services.map((service, index) =>
        sendLoad(service.baseUrl, `writer-${index}`, 'reader', SENDS / 2, 4, startFailover),
      ),
    );
    const outcomes = halves.flat();
    const { from, to } = await (failover as unknown as Promise<{ from: number; to: number }>);
    expect(to).not.toBe(from);
    expect(await backend.group.masterPort()).toBe(to);

    const acknowledged = outcomes.filter(
      (outcome) => outcome.status === 'SUCCESS' || outcome.status === 'QUEUED',
    );
    // A send refused outright was never acknowledged: allowed, and few.
    expect(acknowledged.length).toBeGreaterThan(SENDS * 0.9);

    // Whatever an instance queued locally during the switch reaches the new primary.
    await Promise.all(services.map((service) => waitForEmptyOutageQueue(service.baseUrl)));

    // Every acknowledged send is stored, once: no id missing, no content under two ids.
    const stored = await mailboxIds(services[0].baseUrl, 'reader');
    const storedIds = new Set(stored.map((message) => message.id));
    expect(acknowledged.filter((outcome) => !storedIds.has(outcome.messageId!))).toEqual([]);
    const contents = stored.map((message) => `${message.sender}/${message.content}`);
    expect(contents.length).toBe(new Set(contents).size);

    // The subscriber got every acknowledged send, none twice, without subscribing again.
    await eventually(() => {
      const received = new Set(feed.values.map((message) => message.id));
      return acknowledged.every((outcome) => received.has(outcome.messageId!));
    }, 30_000).catch(() => undefined);
    const received = feed.values.map((message) => message.id);
    const missing = acknowledged.filter((outcome) => !received.includes(outcome.messageId!));
    expect(missing).toEqual([]);
    expect(received.length).toBe(new Set(received).size);
    expect(feed.errors).toEqual([]);
    feed.unsubscribe();

    const logs = services.map((service) => service.output.join('')).join('');
    expect(logs).not.toMatch(/CROSSSLOT/);
  }, 120_000);
});
