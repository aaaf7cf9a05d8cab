import type { INestApplication } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { createApp } from '../../src/app.setup';
import type { RedisBackend } from './redis-backend';

export interface TestApp {
  app: INestApplication;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  /** ws://127.0.0.1:PORT/graphql */
  wsUrl: string;
  /** The REDIS_KEY_PREFIX this app writes under. */
  prefix: string;
  close(): Promise<void>;
}

/** A unique key prefix, so that tests sharing one Redis never see each other's keys. */
export function uniquePrefix(): string {
  return `t${randomBytes(4).toString('hex')}:`;
}

/**
 * Boots the whole service in this process on a free port, talking to `redisUrl`, with
 * authentication off unless the environment says otherwise.
 */
export async function startTestApp(
  redis: string | RedisBackend,
  environment: Record<string, string> = {},
): Promise<TestApp> {
  const prefix = environment.REDIS_KEY_PREFIX ?? uniquePrefix();
  const connection = typeof redis === 'string' ? { REDIS_URL: redis } : redis.environment;
  const app = await createApp({
    environment: {
      NODE_ENV: 'test',
      AUTH_ENABLED: 'false',
      ...connection,
      REDIS_KEY_PREFIX: prefix,
      ...environment,
    },
    logger: ['error'],
  });
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer()).address() as AddressInfo;
  return {
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    prefix,
    close: () => app.close(),
  };
}

/**
 * The service as a suite sees it: one instance on a standalone Redis; on Cluster or Sentinel,
 * two instances sharing the key prefix, HTTP on one and WebSockets on the other, so that
 * every message a suite sends reaches its subscribers through Redis from another instance.
 * `app` is the instance serving WebSockets.
 */
export async function startTestService(
  backend: RedisBackend,
  environment: Record<string, string> = {},
): Promise<TestApp> {
  const sockets = await startTestApp(backend, environment);
  if (backend.topology === 'standalone') return sockets;
  const http = await startTestApp(backend, { ...environment, REDIS_KEY_PREFIX: sockets.prefix });
  return {
    ...sockets,
    baseUrl: http.baseUrl,
    close: async () => {
      await Promise.all([http.close(), sockets.close()]);
    },
  };
}
