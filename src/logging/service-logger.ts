import type { LoggerService } from '@nestjs/common';
import type { Logger } from 'nestjs-pino';

/** Nest's own start-up narration: a line per module and route, noise at every start. */
const FRAMEWORK_CONTEXTS = new Set([
  'NestFactory',
  'InstanceLoader',
  'RoutesResolver',
  'RouterExplorer',
  'NestApplication',
  'GraphQLModule',
]);

/**
 * The service's logger: pino through nestjs-pino, with Nest's start-up narration kept at
 * debug so that a start shows one short block. Warnings and errors pass whatever their source.
 */
export class ServiceLogger implements LoggerService {
  constructor(private readonly pino: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    const context = rest[rest.length - 1];
    if (typeof context === 'string' && FRAMEWORK_CONTEXTS.has(context)) {
      this.pino.debug(message, ...rest);
      return;
    }
    this.pino.log(message, ...rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    // A busy port is told in one line by main.ts; Nest's own report of it would be a second.
    if (rest[rest.length - 1] === 'NestApplication' && /EADDRINUSE/.test(String(message))) return;
    this.pino.error(message, ...rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.pino.warn(message, ...rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.pino.debug(message, ...rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.pino.verbose(message, ...rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.pino.fatal(message, ...rest);
  }
}
