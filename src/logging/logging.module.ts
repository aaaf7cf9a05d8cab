import { Module, RequestMethod } from '@nestjs/common';
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
 * default in development. Every log line written while a request is served carries its
 * request id (`reqId`): the id the HTTP server gave the request (see createApp).
 * Requests themselves are not logged one by one: at thousands a second that is the cost of
 * the service, not a record of it; failures are logged where they happen.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [AppConfigService],
      useFactory: (config: AppConfigService) => {
        const { level, format } = config.logging;
        return {
          // Every path, the GraphQL route too: Fastify's middleware layer takes this form.
          forRoutes: [{ path: '*path', method: RequestMethod.ALL }],
          pinoHttp: {
            level: PINO_LEVELS[level],
            autoLogging: false,
            quietReqLogger: true,
            redact: ['req.headers.authorization', 'req.headers.cookie'],
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
