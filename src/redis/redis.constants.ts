/** Injection token of the command connection (ioredis Redis or Cluster). */
export const REDIS_COMMANDS = Symbol('REDIS_COMMANDS');
/** Injection token of the connection dedicated to SUBSCRIBE. */
export const REDIS_SUBSCRIBER = Symbol('REDIS_SUBSCRIBER');
