import 'reflect-metadata';
import cluster from 'node:cluster';
import type { Server } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { Logger as NestLogger, type INestApplication } from '@nestjs/common';
import { Logger } from 'nestjs-pino';
import { createApp } from './app.setup';
import { AuthService } from './auth/auth.service';
import { AppConfigService } from './config/app-config.service';
import {
  ConfigurationError,
  processEnvironment,
  validateEnvironment,
  type EnvironmentVariables,
} from './config/environment';
import { LifecycleService } from './health/lifecycle.service';
import { ServiceLogger } from './logging/service-logger';
import { RedisCircuitBreaker } from './redis/redis-circuit-breaker';
import { describeRedis } from './redis/redis-topology.service';
import { Supervisor } from './workers/supervisor';
import { WORKER_ENVIRONMENT, workerCount } from './workers/workers';

/**
 * Graceful shutdown on SIGTERM (and SIGINT): readiness turns 503 at once, the service keeps
 * serving for SHUTDOWN_DRAIN_DELAY while load balancers notice, then closes: WebSockets end
 * with 1001, in-flight requests finish, the local queue is flushed or left in its spool, the
 * loops stop, Redis is closed. Past SHUTDOWN_GRACE_PERIOD the process exits regardless.
 */
function handleSignals(app: INestApplication, config: AppConfigService): void {
  const logger = new NestLogger('Shutdown');
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    // A second signal (Ctrl-C reaches a worker from the terminal and from its supervisor)
    // changes nothing: the shutdown under way finishes, bounded by its grace period.
    if (stopping) {
      logger.log(`${signal}: already stopping`);
      return;
    }
    stopping = true;
    const { shutdownGraceMs, shutdownDrainDelayMs } = config.resilience;
    logger.log(`${signal}: stopping within ${shutdownGraceMs} ms`);
    app.get(LifecycleService).beginShutdown();
    setTimeout(() => {
      logger.error('grace period over: exiting before shutdown finished');
      process.exit(1);
    }, shutdownGraceMs).unref();
    await new Promise((resolve) => setTimeout(resolve, shutdownDrainDelayMs));
    await app.close();
    process.exit(0);
  };
  // `on`, not `once`: without a listener the next signal would end the process at once.
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.on(signal, (received) => void stop(received));
}

/** How long a process that met an error nothing caught lives on, to hand its connections on. */
const CRASH_EXIT_MS = 1_000;

/**
 * An error nothing caught (an exception, or a rejection no one handled) is a bug that leaves
 * the process in a state no one planned for: it ends, exit 1, after one fatal log line with
 * the error and its stack. It first stops taking connections and turns unready. Under the
 * supervisor that matters: Node's cluster hands each new connection to a worker over IPC, and
 * one handed to a worker that dies at once is neither answered nor closed (in a bare cluster
 * of two workers, 30 crashes left 19 of 2,400 requests waiting for good); a worker that
 * disconnects first answers those as refused and the supervisor hands them to another (none
 * waited in the same test). The supervisor then starts another worker, as for any death.
 * Requests under way have CRASH_EXIT_MS to finish.
 */
function handleCrashes(app: INestApplication): void {
  const logger = new NestLogger('Crash');
  let crashed = false;
  const crash = (what: string, error: unknown): void => {
    if (crashed) return;
    crashed = true;
    logger.fatal(`${what}: exiting (${error instanceof Error ? error.stack : String(error)})`);
    setTimeout(() => process.exit(1), CRASH_EXIT_MS);
    app.get(LifecycleService).beginShutdown();
    if (cluster.isWorker) cluster.worker?.disconnect();
    else (app.getHttpServer() as Server).close();
  };
  process.on('uncaughtException', (error) => crash('uncaught exception', error));
  process.on('unhandledRejection', (reason) => crash('unhandled rejection', reason));
}

/**
 * A start-up failure a person can act on: one line, no stack trace, exit 1. Under the workers'
 * supervisor every first worker meets it and worker 1 says it; a worker started in place of a
 * dead one says its own.
 */
function fail(line: string): never {
  const says =
    !cluster.isWorker ||
    cluster.worker?.id === 1 ||
    processEnvironment()[WORKER_ENVIRONMENT.replacement] === '1';
  if (says) process.stderr.write(`${line}\n`);
  process.exit(1);
}

/**
 * The short block logged once the service listens: where, which Redis, the admin token. Under
 * the workers' supervisor, worker 1 logs it for all of them; a worker started later (in place
 * of one that died) logs nothing.
 */
function announce(app: INestApplication, config: AppConfigService): void {
  if (cluster.isWorker && cluster.worker?.id !== 1) return;
  const logger = new NestLogger('Start');
  const base = `http://localhost:${config.port}`;
  const redis = describeRedis(config.redis);
  const answered = app.get(RedisCircuitBreaker).closed;
  const generated =
    app.get(AuthService).generatedAdminToken ??
    (processEnvironment()[WORKER_ENVIRONMENT.generatedAdminToken] === '1'
      ? (config.auth.adminToken ?? null)
      : null);
  const lines = [
    `serving ${base}/graphql (subscriptions: ws://localhost:${config.port}/graphql)`,
    `health ${base}/health/ready, metrics ${base}/metrics`,
  ];
  if (cluster.isWorker)
    lines.push(`workers ${config.workers} (supervisor pid ${process.ppid}), one per process`);
  const doors = [
    config.mcp.enabled ? `MCP ${base}/mcp` : null,
    config.consoleEnabled
      ? `console ${base}/console (GraphQL explorer: ${base}/console/graphiql)`
      : null,
  ].filter((door) => door !== null);
  if (doors.length > 0) lines.push(doors.join(', '));
  lines.push(`redis ${redis}: ${answered ? 'answered' : 'not answering yet'}`);
  if (generated)
    lines.push(`admin token (generated; valid until this process stops): ${generated}`);
  logger.log(lines.join('\n  '));
  if (!answered)
    logger.warn(
      `Redis at ${redis} does not answer: sends are accepted and queued until it does; everything else answers SERVICE_UNAVAILABLE`,
    );
}

function validVariables(): EnvironmentVariables {
  try {
    return validateEnvironment(processEnvironment());
  } catch (error) {
    // One line naming the variable and the rule; no stack trace for a configuration typo.
    if (error instanceof ConfigurationError) fail(error.message);
    throw error;
  }
}

/** One process serves the port, or (WORKERS > 1) a supervisor forks the workers that do. */
function main(): void {
  const variables = validVariables();
  const workers = workerCount(variables.WORKERS);
  if (cluster.isPrimary && workers > 1) new Supervisor(workers, variables).start();
  else void bootstrap();
}

/**
 * V8 allocates straight in the old generation from an allocation site once a scavenge finds
 * most of that site's objects alive (allocation-site pretenuring). Under live load the
 * sites of per-request objects (HTTP requests, their headers and bodies) got that decision
 * although those objects die within milliseconds, so they died in the old generation:
 * it filled about three times as fast, and the full collections that empty it, each a stall
 * that live deliveries wait through, came every 7 s or so at 1,000 sends a second. Without
 * it, what does live long still reaches the old generation, after two scavenges. The runs
 * are in docs/performance-log.md.
 */
function tuneHeap(): void {
  setFlagsFromString('--no-allocation-site-pretenuring');
}

/**
 * Every interface, as Node's own default (a container is reached from outside): IPv6 and
 * IPv4 on `::`, so that a client whose `localhost` is `::1` and an IPv6-only pod reach it too;
 * IPv4 alone where the host has no IPv6.
 */
async function listenEverywhere(app: INestApplication, port: number): Promise<void> {
  try {
    await app.listen(port, '::');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw error;
    await app.listen(port, '0.0.0.0');
  }
}

async function bootstrap(): Promise<void> {
  tuneHeap();
  const app = await createApp({ bufferLogs: true });
  app.useLogger(new ServiceLogger(app.get(Logger)));
  const config = app.get(AppConfigService);
  try {
    await listenEverywhere(app, config.port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE')
      fail(`port ${config.port} is already in use: stop what listens there or set PORT`);
    throw error;
  }
  handleSignals(app, config);
  handleCrashes(app);
  announce(app, config);
}

main();
