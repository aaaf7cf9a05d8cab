import { Logger } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { ReplicationShortfallError } from './redis-topology.service';

/** Seconds a client should wait after Redis did not answer: about one circuit-breaker cool-down. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;
/**
 * Seconds a client should wait after Redis refused a write for good: memory comes back when
 * keys expire or an operator acts, not within a breaker cool-down.
 */
export const REFUSED_RETRY_AFTER_SECONDS = 30;

/** Redis cannot be reached (circuit open): the operation fails fast instead of waiting. */
export class RedisUnavailableError extends AppError {
  constructor(what = 'Redis is unavailable') {
    super(
      'SERVICE_UNAVAILABLE',
      `${what}; retry in a moment (sends are still accepted and queued)`,
      { retryAfterSeconds: UNAVAILABLE_RETRY_AFTER_SECONDS },
    );
  }
}

/** Redis is out of memory (maxmemory with noeviction): it refuses writes, reads still work. */
export class StoreFullError extends AppError {
  constructor(reply: string) {
    super(
      'STORE_FULL',
      `the message store is full and refuses writes (${reply}); nothing was stored: retry after ${REFUSED_RETRY_AFTER_SECONDS} s`,
      { retryAfterSeconds: REFUSED_RETRY_AFTER_SECONDS },
    );
  }
}

/** Redis answered with a refusal that a retry in a moment will not change. */
export class RedisRefusedError extends AppError {
  constructor(reply: string) {
    super(
      'SERVICE_UNAVAILABLE',
      `the message store refused the operation (${reply}); retry after ${REFUSED_RETRY_AFTER_SECONDS} s`,
      { retryAfterSeconds: REFUSED_RETRY_AFTER_SECONDS },
    );
  }
}

/**
 * Whether a Redis failure can pass by itself soon (`transient`: the operation may be tried
 * again, and a send may wait in the outage queue) or will not (`permanent`: the operation is
 * refused now). See classifyRedisFailure for the table.
 */
export type RedisFailureKind = 'transient' | 'permanent';

export interface ClassifyOptions {
  /**
   * Whether a failover can move the primary (Sentinel, Cluster). Then READONLY means this
   * connection still talks to the demoted primary, and reconnectOnError moves it (transient);
   * on a standalone Redis nothing will move it: READONLY is a replica configured as the
   * primary, and stays until an operator acts (permanent).
   */
  failover?: boolean;
}

/** Reply codes that name a state Redis leaves by itself within seconds. */
const TRANSIENT_REPLIES = new Set([
  'LOADING', // the dataset is being loaded after a restart
  'BUSY', // a script runs past lua-time-limit
  'TRYAGAIN', // a multi-key command during a slot migration
  'CLUSTERDOWN', // a Cluster failover or a slot without a node
  'MASTERDOWN', // a replica lost its primary
  'NOREPLICAS', // fewer replicas than min-replicas-to-write
]);

/**
 * Reply codes with which Redis refuses every write, whatever the keys, while reads still
 * work: out of memory, a read-only replica, or persistence failing (MISCONF).
 */
const WRITE_REFUSALS = new Set(['OOM', 'READONLY', 'MISCONF']);

/** Client-side failures: the command did not reach Redis, or its answer did not come back. */
const CONNECTION_FAILURE =
  /^(Connection is closed|Command timed out|Stream isn't writeable|Cluster isn't ready|None of startup nodes is available|Failed to refresh slots cache|All sentinels are unreachable|Too many Cluster redirections)/;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** ioredis' own error names, matched by name so that a second copy of ioredis still counts. */
const TRANSIENT_ERROR_NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError']);

/**
 * An error reply of Redis: ioredis' ReplyError, or the RESP3 reply errors derived from it,
 * which keep its name.
 */
function isReplyError(error: Error): boolean {
  return error.name === 'ReplyError';
}

/**
 * The reply code of a Redis error reply (`OOM`, `WRONGTYPE`, `ERR`), or null for an error that
 * is not a reply. A script's error carries the code of the command that failed in it: first
 * in the message on Redis 7 (`OOM command not allowed ... script: ...`), inside it on Redis 6
 * (`ERR Error running script ...: @user_script: 1: -OOM command not allowed ...`).
 */
export function replyCode(error: unknown): string | null {
  if (!(error instanceof Error) || !isReplyError(error)) return null;
  const inScript = /@user_script: ?\d+: -([A-Z]+)\b/.exec(error.message);
  if (inScript) return inScript[1];
  return /^([A-Z]+)\b/.exec(error.message)?.[1] ?? 'ERR';
}

/**
 * The one classification of Redis failures.
 *
 * | failure | kind |
 * | --- | --- |
 * | connection closed or refused, command timed out, stream not writeable, MaxRetriesPerRequest, Cluster or Sentinel unreachable, replicas short of REDIS_WAIT_REPLICAS | transient |
 * | LOADING, BUSY, TRYAGAIN, CLUSTERDOWN, MASTERDOWN, NOREPLICAS | transient |
 * | READONLY where a failover can move the primary (Sentinel, Cluster) | transient |
 * | OOM, MISCONF, READONLY on a standalone Redis | permanent (every write refused, reads work) |
 * | NOSCRIPT (the scripts already fell back to EVAL: see redis-scripts.ts), script errors, WRONGTYPE, wrong arguments, NOPERM, any other reply | permanent |
 * | an AppError, or an error that is not Redis's (a bug) | null |
 */
export function classifyRedisFailure(
  error: unknown,
  options: ClassifyOptions = {},
): RedisFailureKind | null {
  if (!(error instanceof Error) || error instanceof AppError) return null;
  const code = replyCode(error);
  if (code !== null) {
    if (TRANSIENT_REPLIES.has(code)) return 'transient';
    if (code === 'READONLY' && options.failover) return 'transient';
    return 'permanent';
  }
  if (error instanceof ReplicationShortfallError) return 'transient';
  if (TRANSIENT_ERROR_NAMES.has(error.name)) return 'transient';
  const errno = (error as NodeJS.ErrnoException).code;
  if (errno !== undefined && NETWORK_CODES.has(errno)) return 'transient';
  return CONNECTION_FAILURE.test(error.message) ? 'transient' : null;
}

/** Whether Redis refuses every write now (out of memory, read-only, persistence failing). */
export function refusesWrites(error: unknown): boolean {
  const code = replyCode(error);
  return code !== null && WRITE_REFUSALS.has(code);
}

/** Whether Redis refused a write for want of memory (maxmemory reached, noeviction). */
export function isOutOfMemory(error: unknown): boolean {
  return replyCode(error) === 'OOM';
}

const logger = new Logger('Redis');

/**
 * A Redis failure as what a client may see: STORE_FULL when Redis is out of memory,
 * SERVICE_UNAVAILABLE for anything else Redis failed at (both with `retryAfterSeconds`);
 * null for an error that is not Redis's. A refusal that is not about capacity (WRONGTYPE, a
 * script error) points at a bug or damaged data, so it is logged with its stack.
 */
export function redisFailure(error: unknown): AppError | null {
  const kind = classifyRedisFailure(error);
  if (kind === null) return null;
  const reason = publicReason(error as Error);
  if (kind === 'transient') return new RedisUnavailableError(`Redis did not answer (${reason})`);
  if (isOutOfMemory(error)) return new StoreFullError(reason);
  if (!refusesWrites(error))
    logger.error(`Redis refused a command: ${(error as Error).message}`, (error as Error).stack);
  return new RedisRefusedError(reason);
}

/**
 * What a client is told of a Redis failure: its kind (the reply's code, the network error's
 * code, or which connection failure), never the rest of Redis' text, which may name a script
 * and its line, an ACL user, the server's persistence settings or a node's address. The whole
 * text is the operator's, in the logs.
 */
export function publicReason(error: Error): string {
  const code = replyCode(error);
  if (code === 'OOM') return "OOM: used memory is over 'maxmemory'";
  if (code !== null) return code;
  const network = (error as NodeJS.ErrnoException).code;
  if (typeof network === 'string' && NETWORK_CODES.has(network)) return network;
  const known = CONNECTION_FAILURE.exec(error.message);
  if (known) return known[1];
  if (TRANSIENT_ERROR_NAMES.has(error.name)) return error.name;
  return 'a Redis failure';
}
