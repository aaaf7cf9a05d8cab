import { Logger } from '@nestjs/common';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/app-config.service';
import { defineScripts, type ScriptedClient } from './redis-scripts';

export type RedisClient = Redis | Cluster;

function baseOptions(config: RedisConfig, role: string): RedisOptions {
  return {
    connectionName: `mailbox-${role}`,
    // A dead TCP peer is noticed in seconds, not minutes.
    keepAlive: 10_000,
    // Nothing waits forever on Redis; a reply that did not come in time is an error.
    commandTimeout: role === 'subscriber' ? undefined : config.commandTimeoutMs,
    maxRetriesPerRequest: role === 'subscriber' ? null : 2,
    enableAutoPipelining: role !== 'subscriber',
    // Commands fail at once while disconnected instead of waiting in a queue: callers fail
    // fast or queue sends locally (see RedisCircuitBreaker). Subscriptions may wait.
    enableOfflineQueue: role === 'subscriber',
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2_000),
    // After a Sentinel failover a demoted primary answers READONLY: reconnect to the new one.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  };
}

/**
 * Opens a connection as the configuration says: Cluster from REDIS_CLUSTER_NODES, Sentinel
 * from REDIS_SENTINELS, else standalone from REDIS_URL. Errors are logged, never thrown
 * from the event emitter (an unhandled `error` event would end the process).
 */
export function createRedisClient(
  config: RedisConfig,
  role: 'commands' | 'subscriber',
): ScriptedClient {
  const logger = new Logger(`Redis:${role}`);
  const options = baseOptions(config, role);
  let client: RedisClient;
  if (config.clusterNodes.length > 0) {
    client = new Cluster(config.clusterNodes, {
      redisOptions: options,
      enableAutoPipelining: options.enableAutoPipelining,
      clusterRetryStrategy: options.retryStrategy,
    });
  } else if (config.sentinels.length > 0) {
    const url = new URL(config.url);
    client = new Redis({
      ...options,
      sentinels: config.sentinels,
      name: config.sentinelMaster,
      password: url.password || undefined,
      username: url.username || undefined,
    });
  } else {
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
