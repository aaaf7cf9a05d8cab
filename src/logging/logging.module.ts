import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AppConfigService } from '../config/app-config.service';
import { pinoOptions } from './pino-options';

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
        return {
          // No per-request middleware: pino-http run through Fastify's middleware layer is a
          // large share of the service's CPU per request (`npm run bench -- --only=a`).
          // Requests carry their id from Fastify itself (see createApp).
          forRoutes: [],
          pinoHttp: pinoOptions(config.logging),
        };
      },
    }),
  ],
})
export class LoggingModule {}
