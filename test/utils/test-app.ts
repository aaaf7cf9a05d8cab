import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';

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
  redisUrl: string,
  environment: Record<string, string> = {},
): Promise<TestApp> {
  const prefix = environment.REDIS_KEY_PREFIX ?? uniquePrefix();
  const app = await NestFactory.create(
    AppModule.forRoot({
      NODE_ENV: 'test',
      AUTH_ENABLED: 'false',
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: prefix,
      ...environment,
    }),
    { bodyParser: false, logger: ['error'] },
  );
  configureApp(app);
  await app.listen(0, '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  return {
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    prefix,
    close: () => app.close(),
  };
}
