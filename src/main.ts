import 'reflect-metadata';
import { Logger, type INestApplication, type LogLevel } from '@nestjs/common';
import { createApp } from './app.setup';
import { AppConfigService } from './config/app-config.service';
import { ConfigurationError, processEnvironment, validateEnvironment } from './config/environment';
import { LifecycleService } from './health/lifecycle.service';

const LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];

/** LOG_LEVEL names the most verbose level shown; everything more severe is shown too. */
function logLevelsFrom(level: LogLevel): LogLevel[] {
  return LEVELS.slice(0, LEVELS.indexOf(level) + 1);
}

/**
 * Graceful shutdown on SIGTERM (and SIGINT): readiness turns 503 at once, the service keeps
 * serving for SHUTDOWN_DRAIN_DELAY while load balancers notice, then closes: WebSockets end
 * with 1001, in-flight requests finish, the local queue is flushed or left in its spool, the
 * loops stop, Redis is closed. Past SHUTDOWN_GRACE_PERIOD the process exits regardless.
 */
function handleSignals(app: INestApplication, config: AppConfigService): void {
  const logger = new Logger('Shutdown');
  let stopping = false;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (stopping) return;
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
  for (const signal of ['SIGTERM', 'SIGINT'] as const)
    process.once(signal, (received) => void stop(received));
}

async function bootstrap(): Promise<void> {
  try {
    validateEnvironment(processEnvironment());
  } catch (error) {
    if (error instanceof ConfigurationError) {
      // One line naming the variable and the rule; no stack trace for a configuration typo.
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const app = await createApp({ bufferLogs: true });
  const config = app.get(AppConfigService);
  app.useLogger(logLevelsFrom(config.logLevel));
  // Every interface, as Node's own default: containers are reached from outside.
  await app.listen(config.port, '0.0.0.0');
  handleSignals(app, config);
  new Logger('Bootstrap').log(
    `serving on http://localhost:${config.port}/graphql (ws://localhost:${config.port}/graphql for subscriptions)`,
  );
}

void bootstrap();
