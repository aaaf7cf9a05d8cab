import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  validateSync,
  type ValidationError,
} from 'class-validator';

import { RENDERABLE_JSON_DEPTH } from '../common/json-depth';

const toNumber = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() !== '' ? Number(value) : value;

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalized)) return true;
  if (['false', '0', 'no', 'off'].includes(normalized)) return false;
  return value;
};

const HOST_PORT_LIST = /^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/;

/**
 * Every environment variable the service reads, with its default and its rule.
 * `.env.example` lists the same variables; keep the two together.
 */
export class EnvironmentVariables {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @IsString()
  @Matches(/^[A-Za-z0-9_.:-]{0,64}$/, {
    message: 'must be at most 64 characters of letters, digits, _ . : -',
  })
  REDIS_KEY_PREFIX = '';

  @IsOptional()
  @IsString()
  @Matches(HOST_PORT_LIST, { message: 'must be host:port[,host:port...]' })
  REDIS_CLUSTER_NODES?: string;

  @IsOptional()
  @IsString()
  @Matches(HOST_PORT_LIST, { message: 'must be host:port[,host:port...]' })
  REDIS_SENTINELS?: string;

  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,128}$/, { message: 'must be a Sentinel master name' })
  REDIS_SENTINEL_MASTER = 'mymaster';

  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.05)
  @Max(300)
  REDIS_COMMAND_TIMEOUT = 5;

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(16)
  REDIS_WAIT_REPLICAS = 0;

  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  @Max(60)
  REDIS_WAIT_TIMEOUT = 1;

  @Transform(toBoolean)
  @IsBoolean()
  AUTH_ENABLED = true;

  @IsOptional()
  @IsString()
  @Matches(/^\S{16,256}$/, { message: 'must be 16 to 256 characters without spaces' })
  ADMIN_TOKEN?: string;

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(100)
  ROUTER_MAX_RETRY_ATTEMPTS = 3;

  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(86400)
  ROUTER_BASE_RETRY_DELAY = 1.0;

  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(86400)
  ROUTER_MAX_RETRY_DELAY = 60.0;

  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(1)
  @Max(100)
  ROUTER_RETRY_EXPONENTIAL_BASE = 2.0;

  @Transform(toBoolean)
  @IsBoolean()
  ROUTER_RETRY_JITTER = true;

  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  @Max(86400)
  ROUTER_RETRY_CHECK_INTERVAL = 10.0;

  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  @Max(86400)
  ROUTER_CLEANUP_INTERVAL = 300.0;

  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  ROUTER_CONFIRMATION_TTL = 3600;

  @Transform(toNumber)
  @IsInt()
  @Min(1024)
  @Max(512 * 1024 * 1024)
  ROUTER_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(512 * 1024 * 1024)
  ROUTER_MAX_PAYLOAD_SIZE = 15 * 1024 * 1024;

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_MINUTE = 6000;

  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(10000)
  SUBSCRIPTIONS_PER_SOCKET = 100;

  /** Nesting of any JSON value taken as input (`metadata` and the like). */
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(RENDERABLE_JSON_DEPTH)
  ROUTER_MAX_JSON_DEPTH = 32;

  /** Tokens the GraphQL parser reads before it gives up on a document. */
  @Transform(toNumber)
  @IsInt()
  @Min(100)
  @Max(1_000_000)
  GRAPHQL_MAX_TOKENS = 10_000;

  /** Bytes of one GraphQL document (the query text; values belong in variables). */
  @Transform(toNumber)
  @IsInt()
  @Min(1024)
  @Max(512 * 1024 * 1024)
  GRAPHQL_MAX_DOCUMENT_BYTES = 1024 * 1024;

  /** Bytes a WebSocket may hold unsent (its reader is slow) before it is closed. */
  @Transform(toNumber)
  @IsInt()
  @Min(64 * 1024)
  @Max(1024 * 1024 * 1024)
  WS_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.1)
  @Max(3600)
  ROUTER_RETRY_LEASE = 30;

  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  OUTAGE_QUEUE_SIZE = 10000;

  /** `off`: the outage queue lives in memory only. A relative path is under the working directory. */
  @IsString()
  OUTAGE_SPOOL_DIR = '.data/spool';

  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.05)
  @Max(60)
  REDIS_BREAKER_COOLDOWN = 1;

  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.5)
  @Max(3600)
  SHUTDOWN_GRACE_PERIOD = 25;

  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(600)
  SHUTDOWN_DRAIN_DELAY = 0;

  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  /** json: one JSON object a line; pretty: readable lines. Unset: pretty in development only. */
  @IsOptional()
  @IsIn(['json', 'pretty'])
  LOG_FORMAT?: 'json' | 'pretty';
}

const SECRET_VARIABLES = new Set(['ADMIN_TOKEN']);

function describe(error: ValidationError, raw: Record<string, unknown>): string {
  const rules = Object.values(error.constraints ?? {}).map((text) =>
    // class-validator words its messages "PROPERTY must ..."; the variable is named once, up front.
    text.startsWith(`${error.property} `) ? text.slice(error.property.length + 1) : text,
  );
  // The value as written: a conversion may have turned 'abc' into NaN, which prints as null.
  // Secrets are never printed, not even malformed ones.
  const shown = SECRET_VARIABLES.has(error.property)
    ? '(hidden)'
    : JSON.stringify(raw[error.property]);
  return `${error.property}=${shown}: ${rules.join('; ')}`;
}

/** Thrown at start when an environment variable breaks its rule; the message is one line. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/**
 * Validates the raw environment and returns the typed variables. Empty strings count as
 * unset, so `PORT=` in a .env file means the default rather than an error.
 */
export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const present = Object.fromEntries(
    Object.entries(raw).filter(([, value]) => value !== undefined && value !== ''),
  );
  const variables = plainToInstance(EnvironmentVariables, present, {
    exposeDefaultValues: true,
  });
  const errors = validateSync(variables, { skipMissingProperties: false });
  if (errors.length > 0) {
    throw new ConfigurationError(
      `Invalid configuration: ${errors.map((error) => describe(error, present)).join(' | ')}`,
    );
  }
  if (variables.ROUTER_MAX_PAYLOAD_SIZE > variables.ROUTER_MAX_MESSAGE_SIZE) {
    throw new ConfigurationError(
      `Invalid configuration: ROUTER_MAX_PAYLOAD_SIZE=${variables.ROUTER_MAX_PAYLOAD_SIZE}: must not exceed ROUTER_MAX_MESSAGE_SIZE (${variables.ROUTER_MAX_MESSAGE_SIZE})`,
    );
  }
  if (variables.NODE_ENV === 'production' && !variables.AUTH_ENABLED) {
    throw new ConfigurationError(
      'Invalid configuration: AUTH_ENABLED=false: not allowed when NODE_ENV=production (it opens every operation)',
    );
  }
  if (variables.NODE_ENV === 'production' && variables.AUTH_ENABLED && !variables.ADMIN_TOKEN) {
    throw new ConfigurationError(
      'Invalid configuration: ADMIN_TOKEN is not set: it is required when NODE_ENV=production and AUTH_ENABLED=true',
    );
  }
  if (variables.ROUTER_BASE_RETRY_DELAY > variables.ROUTER_MAX_RETRY_DELAY) {
    throw new ConfigurationError(
      `Invalid configuration: ROUTER_BASE_RETRY_DELAY=${variables.ROUTER_BASE_RETRY_DELAY}: must not exceed ROUTER_MAX_RETRY_DELAY (${variables.ROUTER_MAX_RETRY_DELAY})`,
    );
  }
  return variables;
}

/** The process environment; the one place outside tests that reads it. */
export function processEnvironment(): Record<string, string | undefined> {
  return process.env;
}
