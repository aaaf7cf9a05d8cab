/**
 * c's baseline: the Redis writes of a DIRECT send, as one Lua script from a plain ioredis
 * client, `inFlight` at once. What the service's store step writes on standalone Redis for a
 * DIRECT message without requireConfirmation and without ttlSeconds
 * (src/redis/lua/store-and-enqueue.lua): EXISTS and HSET of the message hash, HGET of the
 * mailbox's active flag, ZADD NX to its messages zset, PUBLISH of the message as JSON to its
 * feed. No confirmation: the router writes one only with requireConfirmation.
 *
 * A plain client with ioredis' defaults, as the service's command connection is configured
 * (see baseOptions in src/redis/redis-client.factory.ts).
 */
import { Redis } from 'ioredis';
import { monotonicFactory } from 'ulid';
import { runAsChild } from '../lib/child-runtime';
import { padded } from '../lib/bodies';
import { BENCH_SENDER } from '../lib/graphql';
import { closedLoop, type ClosedLoopResult } from './closed-loop';

export interface LuaWritePathRequest {
  redisUrl: string;
  prefix: string;
  inFlight: number;
  contentBytes: number;
  phases: Array<{ name: string; durationMs: number; mailbox: string }>;
}

// KEYS[1] message:{id}  KEYS[2] mailbox:{name}:metadata  KEYS[3] mailbox:{name}:messages
// ARGV[1] id  ARGV[2] score  ARGV[3] feed channel  ARGV[4] payload  ARGV[5..] hash fields
const SEND_DIRECT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return -2 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
if redis.call('HGET', KEYS[2], 'active') ~= '1' then return -1 end
if redis.call('ZADD', KEYS[3], 'NX', ARGV[2], ARGV[1]) == 0 then return -2 end
return redis.call('PUBLISH', ARGV[3], ARGV[4])
`;

type Client = Redis & {
  sendDirect(
    messageKey: string,
    metadataKey: string,
    messagesKey: string,
    id: string,
    score: number,
    channel: string,
    payload: string,
    ...fields: string[]
  ): Promise<number>;
};

const newId = monotonicFactory();

runAsChild<LuaWritePathRequest, ClosedLoopResult[]>(async (request, parent) => {
  const redis = new Redis(request.redisUrl) as Client;
  redis.defineCommand('sendDirect', { numberOfKeys: 3, lua: SEND_DIRECT });
  const p = request.prefix;
  try {
    const results: ClosedLoopResult[] = [];
    for (const phase of request.phases) {
      const target = phase.mailbox;
      const metadataKey = `${p}mailbox:{${target}}:metadata`;
      const messagesKey = `${p}mailbox:{${target}}:messages`;
      const channel = `${p}mailbox:{${target}}:feed`;
      await redis.hset(metadataKey, { name: target, active: '1', createdAt: String(Date.now()) });
      const content = padded(`bench ${target} `, request.contentBytes);
      if (phase.name === 'measure') parent.send({ type: 'measure-start' });
      results.push(
        await closedLoop(phase.name, request.inFlight, phase.durationMs, async () => {
          const id = newId();
          const createdAt = Date.now();
          // The stored message and its hash fields, as src/messages/stored-message.ts has them.
          const message = {
            id,
            sender: BENCH_SENDER,
            mode: 'DIRECT',
            target,
            content,
            contentType: 'text/plain',
            subject: null,
            metadata: null,
            priority: 'NORMAL',
            createdAt,
            expiresAt: null,
            requireConfirmation: false,
            correlationId: null,
            replyTo: null,
            threadId: null,
          };
          const fields = [
            'id',
            id,
            'sender',
            BENCH_SENDER,
            'mode',
            'DIRECT',
            'content',
            content,
            'contentType',
            'text/plain',
            'priority',
            'NORMAL',
            'createdAt',
            String(createdAt),
            'requireConfirmation',
            '0',
            'target',
            target,
          ];
          const reply = await redis.sendDirect(
            `${p}message:{${id}}`,
            metadataKey,
            messagesKey,
            id,
            createdAt,
            channel,
            JSON.stringify(message),
            ...fields,
          );
          return reply >= 0;
        }),
      );
      if (phase.name === 'measure') parent.send({ type: 'measure-end' });
    }
    return results;
  } finally {
    redis.disconnect();
  }
});
