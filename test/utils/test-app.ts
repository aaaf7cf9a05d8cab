import type { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp } from '../../src/app.setup';
import { GUARDS_OFF } from './guards';
import type { RedisBackend } from './redis-backend';

export interface TestApp {
  app: INestApplication;
  /**
   * The instance that answers baseUrl: `app` itself, except for startTestService on Cluster
   * or Sentinel, where HTTP goes to a second instance. Spy on this one's providers to catch
   * what a request over HTTP does.
   */
  httpApp: INestApplication;
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
 * authentication off unless the environment says otherwise. Its outage spool is a directory
 * of its own, removed at close, unless the environment names one: the default spool is
 * under the working directory, which for tests is the repository.
 */
export async function startTestApp(
  redis: string | RedisBackend,
  environment: Record<string, string> = {},
): Promise<TestApp> {
  const prefix = environment.REDIS_KEY_PREFIX ?? uniquePrefix();
  const connection = typeof redis === 'string' ? { REDIS_URL: redis } : redis.environment;
  const spool =
    environment.OUTAGE_SPOOL_DIR === undefined
      ? mkdtempSync(join(tmpdir(), 'mailbox-spool-'))
      : null;
  const removeSpool = (): void => {
    if (spool) rmSync(spool, { recursive: true, force: true });
  };
  let app: INestApplication;
  try {
    app = await createApp({
      environment: {
        NODE_ENV: 'test',
        AUTH_ENABLED: 'false',
        ...GUARDS_OFF,
        ...connection,
        REDIS_KEY_PREFIX: prefix,
        ...(spool ? { OUTAGE_SPOOL_DIR: spool } : {}),
        ...environment,
      },
      logger: ['error'],
    });
  } catch (error) {
    removeSpool();
    throw error;
  }
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return {
    app,
    httpApp: app,
    baseUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    prefix,
    close: async () => {
      await app.close();
      removeSpool();
    },
  };
}

/**
 * The service as a suite sees it: one instance on a standalone Redis; on Cluster or Sentinel,
 * two instances sharing the key prefix, HTTP on one and WebSockets on the other, so that
 * every message a suite sends reaches its subscribers through Redis from another instance.
 * `app` is the instance serving WebSockets, `httpApp` the one serving HTTP.
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
    httpApp: http.app,
    baseUrl: http.baseUrl,
    close: async () => {
      await Promise.all([http.close(), sockets.close()]);
    },
  };
}
