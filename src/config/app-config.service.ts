import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { resolve } from 'node:path';
import { workerCount } from '../workers/workers';
import type { EnvironmentVariables } from './environment';

export interface RedisConfig {
  url: string;
  keyPrefix: string;
  /** The database REDIS_URL selects (its path, `/3`); 0 on Sentinel and Cluster. */
  database: number;
  clusterNodes: Array<{ host: string; port: number }>;
  sentinels: Array<{ host: string; port: number }>;
  sentinelMaster: string;
  commandTimeoutMs: number;
  /** Replicas that must hold a send's writes before it is acknowledged (WAIT); 0: none. */
  waitReplicas: number;
  waitTimeoutMs: number;
}

export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

/** Cluster wins over Sentinel, Sentinel over REDIS_URL (docs/operations/scaling.md). */
export function redisMode(config: Pick<RedisConfig, 'clusterNodes' | 'sentinels'>): RedisMode {
  if (config.clusterNodes.length > 0) return 'cluster';
  return config.sentinels.length > 0 ? 'sentinel' : 'standalone';
}

/**
 * The database a standalone REDIS_URL selects: its path (`redis://host:6379/3`) or its
 * `db` parameter (`redis://host:6379?db=3`), as ioredis reads them; 0 when there is
 * none. Sentinel and Cluster connections use database 0.
 */
export function redisDatabase(url: string): number {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 0;
  }
  // ioredis takes the path, and the `db` parameter when there is no path.
  const given = parsed.pathname.slice(1) || (parsed.searchParams.get('db') ?? '');
  const database = Number.parseInt(given, 10);
  return Number.isSafeInteger(database) && database > 0 ? database : 0;
}

export interface RetryConfig {
  /** Retries after the first attempt (ROUTER_MAX_RETRY_ATTEMPTS). */
  maxRetries: number;
  baseDelaySeconds: number;
  maxDelaySeconds: number;
  exponentialBase: number;
  jitter: boolean;
  checkIntervalMs: number;
}

export interface LimitsConfig {
  maxMessageBytes: number;
  maxPayloadBytes: number;
  /** The largest HTTP body or WebSocket frame accepted: a full-size message and its envelope. */
  maxRequestBytes: number;
  subscriptionsPerSocket: number;
  rateLimitPerMinute: number;
  /** Nesting of any JSON input value. */
  maxJsonDepth: number;
  /** Tokens the GraphQL parser reads before refusing a document. */
  maxDocumentTokens: number;
  /** Bytes of one GraphQL document, refused before it is parsed. */
  maxDocumentBytes: number;
  /** Bytes a WebSocket may hold unsent before it is closed as a slow consumer. */
  maxSocketBufferedBytes: number;
}

/** How long mailboxes keep messages, and which mailboxes a broadcast reaches. */
export interface RetentionConfig {
  /** Entries a mailbox keeps, its newest (MAILBOX_MAX_MESSAGES); 0: no limit. */
  maxMessages: number;
  /** How long an entry stays in a mailbox after the message was sent (MAILBOX_MAX_AGE); 0: no limit. */
  maxAgeMs: number;
  /** Messages a topic's history keeps, its newest (TOPIC_MAX_MESSAGES); 0: no limit. */
  topicMaxMessages: number;
  /** A broadcast reaches mailboxes seen within this long (BROADCAST_ACTIVE_WITHIN); 0: all active. */
  broadcastActiveWithinMs: number;
}

/** MESSAGE_SIGNING_KEY and MESSAGE_SIGNING_OLD_KEYS. Secrets: never logged. */
export interface SigningConfig {
  /** The key that signs; null: a generated key kept in Redis signs instead. */
  key: string | null;
  /** Earlier keys, which still verify what they signed. */
  oldKeys: string[];
}

/** Room for the GraphQL document, JSON quoting and the other fields around a full-size message. */
const REQUEST_ENVELOPE_BYTES = 64 * 1024;

/** The largest HTTP body or WebSocket frame taken: a full-size message and its envelope. */
export interface SafetyConfig {
  maxHops: number;
  maxVisits: number;
  pairRateLimitPerMinute: number;
  duplicateWindowMs: number;
  /** Tokens per UTC day for a mailbox without a budget of its own; 0: none. */
  dailyTokenBudget: number;
}

export function requestBodyLimit(
  variables: Pick<EnvironmentVariables, 'ROUTER_MAX_MESSAGE_SIZE'>,
): number {
  return variables.ROUTER_MAX_MESSAGE_SIZE + REQUEST_ENVELOPE_BYTES;
}

/** `off` (any case): no spool; anything else is a directory, relative to the working directory. */
export function spoolDirectory(value: string): string | null {
  return value.trim().toLowerCase() === 'off' ? null : resolve(value);
}

function parseHostList(value: string | undefined): Array<{ host: string; port: number }> {
  if (!value) return [];
  return value.split(',').map((entry) => {
    const at = entry.lastIndexOf(':');
    return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
  });
}

/** Typed, grouped access to the validated environment. */
/**
 * Seconds as whole milliseconds, where 0 means "no limit": a limit under half a millisecond
 * counts as 1 ms, not as no limit at all.
 */
export function positiveMs(seconds: number): number {
  return seconds === 0 ? 0 : Math.max(1, Math.round(seconds * 1000));
}

@Injectable()
export class AppConfigService {
  constructor(private readonly config: ConfigService<EnvironmentVariables, true>) {}

  /**
   * Each variable as first read. The environment is validated once, at start, and does not
   * change; ConfigService.get walks its property path on every call, and the send path reads
   * a dozen variables a message (about 1% of the service's CPU in w1).
   */
  private readonly values = new Map<keyof EnvironmentVariables, unknown>();

  private get<K extends keyof EnvironmentVariables>(key: K): EnvironmentVariables[K] {
    if (this.values.has(key)) return this.values.get(key) as EnvironmentVariables[K];
    const value = this.config.get(key, { infer: true });
    this.values.set(key, value);
    return value;
  }

  get isProduction(): boolean {
    return this.get('NODE_ENV') === 'production';
  }

  get port(): number {
    return this.get('PORT');
  }

  /** The processes serving the port (WORKERS, `auto` resolved to the CPU cores). */
  get workers(): number {
    return workerCount(this.get('WORKERS'));
  }

  get logLevel(): EnvironmentVariables['LOG_LEVEL'] {
    return this.get('LOG_LEVEL');
  }

  get logging(): { level: EnvironmentVariables['LOG_LEVEL']; format: 'json' | 'pretty' } {
    const development = this.get('NODE_ENV') === 'development';
    return {
      level: this.get('LOG_LEVEL'),
      format: this.get('LOG_FORMAT') ?? (development ? 'pretty' : 'json'),
    };
  }

  get redis(): RedisConfig {
    const url = this.get('REDIS_URL');
    const clusterNodes = parseHostList(this.get('REDIS_CLUSTER_NODES'));
    const sentinels = parseHostList(this.get('REDIS_SENTINELS'));
    return {
      url,
      keyPrefix: this.get('REDIS_KEY_PREFIX'),
      database: redisMode({ clusterNodes, sentinels }) === 'standalone' ? redisDatabase(url) : 0,
      clusterNodes,
      sentinels,
      sentinelMaster: this.get('REDIS_SENTINEL_MASTER'),
      commandTimeoutMs: Math.round(this.get('REDIS_COMMAND_TIMEOUT') * 1000),
      waitReplicas: this.get('REDIS_WAIT_REPLICAS'),
      waitTimeoutMs: Math.round(this.get('REDIS_WAIT_TIMEOUT') * 1000),
    };
  }

  get search(): { enabled: boolean } {
    return { enabled: this.get('SEARCH_ENABLED') };
  }

  get safety(): SafetyConfig {
    return {
      maxHops: this.get('ROUTER_MAX_HOPS'),
      maxVisits: this.get('ROUTER_MAX_VISITS'),
      pairRateLimitPerMinute: this.get('PAIR_RATE_LIMIT_PER_MINUTE'),
      duplicateWindowMs: this.get('DUPLICATE_WINDOW') * 1000,
      dailyTokenBudget: this.get('MAILBOX_DAILY_TOKEN_BUDGET'),
    };
  }

  get mcp(): { enabled: boolean; allowedOrigins: string[] | '*' } {
    const origins = this.get('MCP_ALLOWED_ORIGINS');
    return {
      enabled: this.get('MCP_ENABLED'),
      allowedOrigins: origins === '*' ? '*' : origins.split(',').map((host) => host.toLowerCase()),
    };
  }

  get consoleEnabled(): boolean {
    return this.get('CONSOLE_ENABLED');
  }

  get auth(): { enabled: boolean; adminToken: string | undefined } {
    return { enabled: this.get('AUTH_ENABLED'), adminToken: this.get('ADMIN_TOKEN') };
  }

  /** The configured message-signing keys (secrets: never log them); none when unset. */
  get signing(): SigningConfig {
    const old = this.get('MESSAGE_SIGNING_OLD_KEYS');
    return {
      key: this.get('MESSAGE_SIGNING_KEY') ?? null,
      oldKeys: old === undefined ? [] : old.split(','),
    };
  }

  get retry(): RetryConfig {
    return {
      maxRetries: this.get('ROUTER_MAX_RETRY_ATTEMPTS'),
      baseDelaySeconds: this.get('ROUTER_BASE_RETRY_DELAY'),
      maxDelaySeconds: this.get('ROUTER_MAX_RETRY_DELAY'),
      exponentialBase: this.get('ROUTER_RETRY_EXPONENTIAL_BASE'),
      jitter: this.get('ROUTER_RETRY_JITTER'),
      checkIntervalMs: Math.round(this.get('ROUTER_RETRY_CHECK_INTERVAL') * 1000),
    };
  }

  get cleanup(): { intervalMs: number; confirmationTtlSeconds: number } {
    return {
      intervalMs: Math.round(this.get('ROUTER_CLEANUP_INTERVAL') * 1000),
      confirmationTtlSeconds: this.get('ROUTER_CONFIRMATION_TTL'),
    };
  }

  get retention(): RetentionConfig {
    return {
      maxMessages: this.get('MAILBOX_MAX_MESSAGES'),
      maxAgeMs: positiveMs(this.get('MAILBOX_MAX_AGE')),
      topicMaxMessages: this.get('TOPIC_MAX_MESSAGES'),
      broadcastActiveWithinMs: positiveMs(this.get('BROADCAST_ACTIVE_WITHIN')),
    };
  }

  get resilience(): {
    retryLeaseMs: number;
    outageQueueSize: number;
    outageQueueBytes: number;
    spoolDir: string | null;
    breakerCooldownMs: number;
    shutdownGraceMs: number;
    shutdownDrainDelayMs: number;
  } {
    return {
      retryLeaseMs: Math.round(this.get('ROUTER_RETRY_LEASE') * 1000),
      outageQueueSize: this.get('OUTAGE_QUEUE_SIZE'),
      outageQueueBytes: this.get('OUTAGE_QUEUE_BYTES'),
      spoolDir: spoolDirectory(this.get('OUTAGE_SPOOL_DIR')),
      breakerCooldownMs: Math.round(this.get('REDIS_BREAKER_COOLDOWN') * 1000),
      shutdownGraceMs: Math.round(this.get('SHUTDOWN_GRACE_PERIOD') * 1000),
      shutdownDrainDelayMs: Math.round(this.get('SHUTDOWN_DRAIN_DELAY') * 1000),
    };
  }

  get limits(): LimitsConfig {
    const maxMessageBytes = this.get('ROUTER_MAX_MESSAGE_SIZE');
    return {
      maxMessageBytes,
      maxPayloadBytes: this.get('ROUTER_MAX_PAYLOAD_SIZE'),
      maxRequestBytes: requestBodyLimit({ ROUTER_MAX_MESSAGE_SIZE: maxMessageBytes }),
      subscriptionsPerSocket: this.get('SUBSCRIPTIONS_PER_SOCKET'),
      rateLimitPerMinute: this.get('RATE_LIMIT_PER_MINUTE'),
      maxJsonDepth: this.get('ROUTER_MAX_JSON_DEPTH'),
      maxDocumentTokens: this.get('GRAPHQL_MAX_TOKENS'),
      maxDocumentBytes: this.get('GRAPHQL_MAX_DOCUMENT_BYTES'),
      maxSocketBufferedBytes: this.get('WS_MAX_BUFFERED_BYTES'),
    };
  }
}
