/**
 * The service's Nest application from the bench's build, initialised but not listening, for
 * the scenarios that call the router in process (c, g, h, j). (createApplicationContext
 * cannot be used: the graphql-ws server needs the HTTP adapter when the application boots.)
 */
import 'reflect-metadata';
import type { INestApplication, NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { MessageRouterService } from '../../src/routing/message-router.service';
import type { RouteStatus } from '../../src/routing/route-result.model';
import { SERVICE_DIST } from './build';

type AppModuleExports = typeof import('../../src/app.module');
type RouterExports = typeof import('../../src/routing/message-router.service');
type MailboxesExports = typeof import('../../src/mailboxes/mailboxes.service');
type RouteResultExports = typeof import('../../src/routing/route-result.model');

const load = createRequire(__filename);

/** A module of the build, by its path under dist (`search/search.service.js`). */
export function loadBuilt<T>(path: string): T {
  return load(join(SERVICE_DIST, path)) as T;
}

export interface InProcessService {
  app: INestApplication;
  router: MessageRouterService;
  /** The build's own enum, for comparing route results. */
  RouteStatus: typeof RouteStatus;
}

/** A provider of the build replaced by a value (a pass-through, for a baseline without it). */
export interface ProviderReplacement {
  /** The provider's module under dist, `safety/safety.service.js`. */
  path: string;
  /** The provider's class as that module exports it, `SafetyService`. */
  exportName: string;
  value: unknown;
}

export interface InProcessOptions {
  /**
   * When given (even empty), the application is built through @nestjs/testing's module
   * builder with these providers replaced (overrideProvider(...).useValue), so that a run
   * with a replacement and the run it is compared with are built the same way. Without it,
   * NestFactory.create, as the service's own start does. Either way on Nest's Fastify
   * adapter, which the service's GraphQL driver serves on.
   */
  replace?: ProviderReplacement[];
}

/** Boots the application with `environment` and registers `mailboxes`. */
export async function startInProcess(
  environment: Record<string, string>,
  mailboxes: string[],
  options: InProcessOptions = {},
): Promise<InProcessService> {
  const { AppModule } = loadBuilt<AppModuleExports>('app.module.js');
  const { MessageRouterService } = loadBuilt<RouterExports>('routing/message-router.service.js');
  const { RouteStatus } = loadBuilt<RouteResultExports>('routing/route-result.model.js');
  const { MailboxesService } = loadBuilt<MailboxesExports>('mailboxes/mailboxes.service.js');
  const appOptions: NestApplicationOptions = { bodyParser: false, logger: ['error'] };
  let app: INestApplication;
  if (options.replace === undefined) {
    app = await NestFactory.create(
      AppModule.forRoot(environment),
      new FastifyAdapter(),
      appOptions,
    );
  } else {
    let builder = Test.createTestingModule({ imports: [AppModule.forRoot(environment)] });
    for (const { path, exportName, value } of options.replace) {
      const token = loadBuilt<Record<string, unknown>>(path)[exportName];
      if (typeof token !== 'function') throw new Error(`${path} exports no ${exportName}`);
      builder = builder.overrideProvider(token).useValue(value);
    }
    app = (await builder.compile()).createNestApplication(new FastifyAdapter(), appOptions);
  }
  await app.init();
  const registry = app.get(MailboxesService);
  for (const name of new Set(mailboxes)) await registry.register(name, null);
  return { app, router: app.get(MessageRouterService), RouteStatus };
}
