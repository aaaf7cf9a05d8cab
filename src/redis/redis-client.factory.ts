import { Logger } from '@nestjs/common';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { redisMode, type RedisConfig } from '../config/app-config.service';
import { defineScripts, type ScriptedClient } from './redis-scripts';
import { restoreFastStringMethods } from './string-prototype';

export type RedisClient = Redis | Cluster;

function baseOptions(config: RedisConfig, role: string): RedisOptions {
  return {
    connectionName: `mailbox-${role}`,
    // A dead TCP peer is noticed in seconds, not minutes.
    keepAlive: 10_000,
    // Nothing waits forever on Redis; a reply that did not come in time is an error.
    commandTimeout: role === 'subscriber' ? undefined : config.commandTimeoutMs,
    maxRetriesPerRequest: role === 'subscriber' ? null : 2,
    // Off: auto-pipelining joins every pending command into one string before writing it, a
    // copy of each message's bytes that costs more than the system calls it saves (see
    // docs/performance-log.md).
    enableAutoPipelining: false,
    // Commands fail at once while disconnected instead of waiting in a queue: callers fail
    // fast or queue sends locally (see RedisCircuitBreaker). Subscriptions may wait.
    enableOfflineQueue: role === 'subscriber',
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    // After a Sentinel failover a demoted primary answers READONLY: reconnect to the new one.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  };
}

/** User, password and TLS come from REDIS_URL in every mode. */
function credentials(config: RedisConfig): Pick<RedisOptions, 'username' | 'password' | 'tls'> {
  const url = new URL(config.url);
  return {
    username: decodeURIComponent(url.username) || undefined,
    password: decodeURIComponent(url.password) || undefined,
    tls: url.protocol === 'rediss:' ? {} : undefined,
  };
}

function clusterClient(config: RedisConfig, role: string, options: RedisOptions): Cluster {
  const { retryStrategy, enableOfflineQueue, enableAutoPipelining, ...perNode } = options;
  return new Cluster(config.clusterNodes, {
    redisOptions: { ...perNode, ...credentials(config) },
    enableOfflineQueue,
    enableAutoPipelining,
    clusterRetryStrategy: retryStrategy,
    // Mailbox feeds use Redis 7 sharded pub/sub: one subscriber connection per primary, each
    // holding the channels of its slots, moved by ioredis when slots move or fail over.
    shardedSubscribers: role === 'subscriber',
    // MOVED and ASK are followed; during a failover the cluster answers CLUSTERDOWN or
    // TRYAGAIN for a moment and the command is tried again shortly, a few times at most.
    maxRedirections: 16,
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: 2_000,
    scaleReads: 'master',
  });
}

/**
 * Opens a connection as the configuration says: Cluster from REDIS_CLUSTER_NODES, Sentinel
 * from REDIS_SENTINELS, else standalone from REDIS_URL. Errors are logged, never thrown
 * from the event emitter (an unhandled `error` event would end the process). Loading
 * ioredis slows every method of a string in the process; `restoreFastStringMethods` undoes
 * that.
 */
export function createRedisClient(
  config: RedisConfig,
  role: 'commands' | 'subscriber',
): ScriptedClient {
  restoreFastStringMethods();
  const logger = new Logger(`Redis:${role}`);
  const options = baseOptions(config, role);
  let client: RedisClient;
  switch (redisMode(config)) {
    case 'cluster':
      client = clusterClient(config, role, options);
      break;
    case 'sentinel':
      client = new Redis({
        ...options,
        ...credentials(config),
        sentinels: config.sentinels,
        name: config.sentinelMaster,
        // rediss:// in REDIS_URL: TLS to the primary and replicas the sentinels name.
        enableTLSForSentinelMode: config.url.startsWith('rediss:'),
        // Listens to the sentinels' +switch-master and moves to the new primary at once.
        failoverDetector: true,
      });
      break;
    case 'standalone':
      client = new Redis(config.url, options);
  }
  let lastError = '';
  client.on('error', (error: Error) => {
    // One line per distinct failure, not one per reconnect attempt.
    if (error.message !== lastError) logger.warn(`connection error: ${error.message}`);
    lastError = error.message;
  });
  client.on('ready', () => {
    if (lastError) logger.log('connection ready again');
    lastError = '';
  });
  return defineScripts(client);
}
