import type { LoggerOptions } from 'pino';
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
 * pino's options for LOG_LEVEL and LOG_FORMAT: JSON lines, or one coloured line each for
 * `pretty`. The service's logger (LoggingModule) and the workers' supervisor use the same.
 */
export function pinoOptions(logging: {
  level: EnvironmentVariables['LOG_LEVEL'];
  format: 'json' | 'pretty';
}): LoggerOptions {
  return {
    level: PINO_LEVELS[logging.level],
    transport:
      logging.format === 'pretty'
        ? { target: 'pino-pretty', options: { singleLine: true, colorize: true } }
        : undefined,
  };
}
