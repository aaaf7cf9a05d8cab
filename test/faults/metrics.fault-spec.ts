import { eventually } from '../utils/graphql-client';
import { RedisServer } from '../utils/redis-server';
import { ServiceProcess } from '../utils/service-process';
import { uniquePrefix } from '../utils/test-app';

/** A metric's value in Prometheus text, or NaN when absent. */
function metric(text: string, name: string): number {
  return Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

interface Scrape {
  status: number;
  text: string;
  tookMs: number;
}

async function scrape(service: ServiceProcess): Promise<Scrape> {
  const started = Date.now();
  const response = await fetch(`${service.baseUrl}/metrics`);
  const text = await response.text();
  return { status: response.status, text, tookMs: Date.now() - started };
}

/**
 * A scrape while Redis hangs must still answer, and at once while the circuit is open: its
 * whole point then is `mailbox_redis_circuit_open 1`. Under the workers' supervisor a worker
 * that takes as long as the supervisor waits for it (5 s, the default REDIS_COMMAND_TIMEOUT)
 * is left out, and a scrape that every worker misses answers 500.
 */
describe('/metrics while Redis hangs (SIGSTOP)', () => {
  jest.setTimeout(90_000);

  for (const workers of ['2', '1']) {
    it(`answers at once with the open circuit and the local gauges (WORKERS=${workers})`, async () => {
      const redis = await RedisServer.start();
      // The default REDIS_COMMAND_TIMEOUT (5 s): what a read from a hung Redis waits.
      const service = await ServiceProcess.start({
        REDIS_URL: redis.url,
        REDIS_KEY_PREFIX: uniquePrefix(),
        WORKERS: workers,
      });
      try {
        await eventually(async () => {
          const before = await scrape(service);
          return before.status === 200 && metric(before.text, 'mailbox_router_statistics_up') === 1;
        }, 10_000);
        redis.pause();
        // Past the half second a scrape's Redis reads are shared with the next one for.
        await new Promise((resolve) => setTimeout(resolve, 600));
        // Before any worker's circuit has opened: the Redis reads are cut short.
        const first = await scrape(service);
        expect(first.status).toBe(200);
        expect(first.tookMs).toBeLessThan(4_000);
        expect(metric(first.text, 'mailbox_router_statistics_up')).toBe(0);
        // Once the circuits are open, Redis is not asked at all.
        const scrapes: Scrape[] = [];
        await eventually(async () => {
          const next = await scrape(service);
          scrapes.push(next);
          return next.status === 200 && metric(next.text, 'mailbox_redis_circuit_open') === 1;
        }, 20_000);
        for (let again = 0; again < 3; again += 1) scrapes.push(await scrape(service));
        expect(scrapes.filter((each) => each.status !== 200)).toEqual([]);
        const last = scrapes[scrapes.length - 1];
        expect(last.tookMs).toBeLessThan(1_000);
        expect(metric(last.text, 'mailbox_redis_circuit_open')).toBe(1);
        expect(metric(last.text, 'mailbox_router_statistics_up')).toBe(0);
        expect(metric(last.text, 'mailbox_outage_queue_size')).toBe(0);
        expect(metric(last.text, 'mailbox_websocket_connections')).toBe(0);
        expect(last.text).toMatch(/^mailbox_background_job_up\{job="delivery-retry"\} 1$/m);

        redis.resume();
        await eventually(async () => {
          const after = await scrape(service);
          return (
            metric(after.text, 'mailbox_redis_circuit_open') === 0 &&
            metric(after.text, 'mailbox_router_statistics_up') === 1
          );
        }, 20_000);
      } finally {
        redis.resume();
        await service.stop();
        await redis.destroy();
      }
    });
  }
});
