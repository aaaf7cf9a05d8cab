import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfigService } from '../config/app-config.service';
import type { EnvironmentVariables } from '../config/environment';

/** LOG_LEVEL keeps Nest's names; pino names two of them differently. */
const PINO_LEVELS: Record<EnvironmentVariables['LOG_LEVEL'], string> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * Structured logs through pino: JSON lines (every line parses) unless LOG_FORMAT=pretty, the
 * default in development. Requests are not logged one by one: at thousands a second that is
 * the cost of the service, not a record of it; failures are logged where they happen. Each
 * HTTP request has an id (`x-request-id`, see createApp) that its answer carries, and so does
 * each WebSocket connection and subscription (see GraphqlWsServer); a line about one of them
 * carries it as `reqId` (the name Fastify's own request logs give it), passed where the line
 * is written.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfigService],
      useFactory: (config: AppConfigService) => {
        const { level, format } = config.logging;
        return {
          // No per-request middleware: pino-http run through Fastify's middleware layer is a
          // large share of the service's CPU per request (`npm run bench -- --only=a`).
          // Requests carry their id from Fastify itself (see createApp).
          forRoutes: [],
          pinoHttp: {
            level: PINO_LEVELS[level],
            transport:
              format === 'pretty'
                ? { target: 'pino-pretty', options: { singleLine: true, colorize: true } }
                : undefined,
          },
        };
      },
    }),
  ],
})
export class LoggingModule {}
