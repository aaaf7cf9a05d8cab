import { eventually } from '../utils/graphql-client';
import { RedisServer } from '../utils/redis-server';
import { startTestApp, type TestApp } from '../utils/test-app';

interface HealthBody {
  status: string;
  info: Record<string, { status: string }>;
  error: Record<string, { status: string }>;
  details: Record<string, { status: string }>;
}

async function probe(
  service: TestApp,
  path: string,
): Promise<{ status: number; body: HealthBody }> {
  const response = await fetch(`${service.baseUrl}${path}`);
  return { status: response.status, body: (await response.json()) as HealthBody };
}

describe('health probes', () => {
  let redisServer: RedisServer;
  let service: TestApp;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    service = await startTestApp(redisServer.url);
  });

  afterAll(async () => {
    await service.close();
    await redisServer.destroy();
  });

  it('are 200 with terminus-shaped bodies while Redis answers', async () => {
    const ready = await probe(service, '/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ok',
      info: { redis: { status: 'up' }, pubsub: { status: 'up' } },
      error: {},
    });
    expect((await probe(service, '/health/live')).status).toBe(200);
  });

  it('ready turns 503 and live stays 200 while Redis is stopped, and ready recovers without a restart', async () => {
    await redisServer.stop();
    await eventually(async () => (await probe(service, '/health/ready')).status === 503, 10_000);
    const ready = await probe(service, '/health/ready');
    expect(ready.body.status).toBe('error');
    expect(ready.body.error.redis.status).toBe('down');
    const live = await probe(service, '/health/live');
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');

    await redisServer.start();
    await eventually(async () => (await probe(service, '/health/ready')).status === 200, 15_000);
    expect((await probe(service, '/health/ready')).body.info.pubsub.status).toBe('up');
  });
});
