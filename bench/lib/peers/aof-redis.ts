import { RedisServer } from '../redis-server';

/**
 * A private redis-server with an append-only file fsynced once a second (`appendonly yes`,
 * `appendfsync everysec`), for the peer workloads (w1..w4): the service and BullMQ each get
 * one, so that both acknowledge what Redis has written to its AOF (lost on power loss: up
 * to about a second). Otherwise as lib/redis-server.ts: its own port and temporary
 * directory (on the same disk as the brokers' data here), no RDB snapshots, Redis's
 * defaults for the rest (including automatic AOF rewrites).
 */
export function startAofRedis(): Promise<RedisServer> {
  return RedisServer.start({ appendOnly: true });
}
