import { eventually } from '../utils/graphql-client';
import { startRedisBackend, testTopology, type RedisBackend } from '../utils/redis-backend';
import { startTestApp, type TestApp } from '../utils/test-app';

const ADMIN = 'adm_health-probes-test-admin-token-0123456789';

interface HealthBody {
  status: string;
  info: Record<string, { status: string } & Record<string, unknown>>;
  error: Record<string, { status: string } & Record<string, unknown>>;
  details: Record<string, { status: string } & Record<string, unknown>>;
}

async function probe(
  service: TestApp,
  path: string,
  token?: string,
): Promise<{ status: number; body: HealthBody }> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const response = await fetch(`${service.baseUrl}${path}`, { headers });
  return { status: response.status, body: (await response.json()) as HealthBody };
}

describe(`health probes (${testTopology()})`, () => {
  let backend: RedisBackend;
  let service: TestApp;

  beforeAll(async () => {
    backend = await startRedisBackend();
    service = await startTestApp(backend, { AUTH_ENABLED: 'true', ADMIN_TOKEN: ADMIN });
  });

  afterAll(async () => {
    await service.close();
    await backend.destroy();
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
    // Every data node of a Cluster or Sentinel group (its sentinels stay up).
    await backend.stopAll();
    await eventually(async () => (await probe(service, '/health/ready')).status === 503, 10_000);
    const ready = await probe(service, '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('error');
    // Without the admin token, each indicator's status and nothing of Redis.
    expect(ready.body.error.redis).toEqual({ status: 'down' });
    expect(ready.body.details.circuit).toEqual({ status: 'down' });
    const detailed = await probe(service, '/health/ready', ADMIN);
    expect(detailed.status).toBe(503);
    expect(detailed.body.error.redis).toMatchObject({ status: 'down', mode: backend.topology });
    expect(detailed.body.details.circuit.status).toBe('down');
    expect(['open', 'half-open']).toContain(detailed.body.details.circuit.state);
    const live = await probe(service, '/health/live');
    expect(live.status).toBe(200);
    expect(live.body.status).toBe('ok');

    await backend.startAll();
    await eventually(async () => (await probe(service, '/health/ready')).status === 200, 15_000);
    expect((await probe(service, '/health/ready')).body.info.pubsub.status).toBe('up');
  });
});
