import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import type { PublishCommand } from './redis-topology.service';

/**
 * The Lua scripts of src/redis/lua, registered once per connection with `defineCommand`.
 * Each script's header lists its KEYS, ARGV and return value; the signatures below follow it.
 */
const SCRIPTS: Record<string, { file: string; keys: number | undefined }> = {
  storeMessage: { file: 'store-message.lua', keys: 1 },
  // Four keys per message, for one message or many: the caller passes the count first.
  storeAndEnqueue: { file: 'store-and-enqueue.lua', keys: undefined },
  enqueueMailbox: { file: 'enqueue-mailbox.lua', keys: 3 },
  enqueueTopic: { file: 'enqueue-topic.lua', keys: 2 },
  registerMailbox: { file: 'register-mailbox.lua', keys: 1 },
  deactivateMailbox: { file: 'deactivate-mailbox.lua', keys: 1 },
  pageIds: { file: 'page-ids.lua', keys: 1 },
  touchMailbox: { file: 'touch-mailbox.lua', keys: 1 },
  createConfirmation: { file: 'create-confirmation.lua', keys: 1 },
  attemptDelivery: { file: 'attempt-delivery.lua', keys: 1 },
  updateDelivery: { file: 'update-delivery.lua', keys: 1 },
  claimDue: { file: 'claim-due.lua', keys: 4 },
  deadLetter: { file: 'dead-letter.lua', keys: 3 },
  setToken: { file: 'set-token.lua', keys: 1 },
  rateLimit: { file: 'rate-limit.lua', keys: 1 },
};

type Arg = string | number;

export interface MailboxScripts {
  storeMessage(messageKey: string, expireAtMs: string, ...fields: string[]): Promise<number>;
  /** KEYS and ARGV as store-and-enqueue.lua's header lists them, after the number of keys. */
  storeAndEnqueue(numberOfKeys: number, ...keysAndArgs: Arg[]): Promise<number[]>;
  enqueueMailbox(
    metadataKey: string,
    messagesKey: string,
    pendingKey: string,
    id: string,
    score: Arg,
    channel: string,
    payload: string,
    requiresConfirmation: '0' | '1',
    publish: PublishCommand,
  ): Promise<number>;
  enqueueTopic(
    messagesKey: string,
    metadataKey: string,
    id: string,
    score: Arg,
    topic: string,
  ): Promise<number>;
  registerMailbox(
    metadataKey: string,
    name: string,
    now: Arg,
    metadata: string,
    tokenHash: string,
  ): Promise<number>;
  deactivateMailbox(metadataKey: string, now: Arg): Promise<number>;
  pageIds(indexKey: string, cursor: string, cursorScore: Arg, count: Arg): Promise<string[]>;
  touchMailbox(metadataKey: string, now: Arg): Promise<number>;
  createConfirmation(
    confirmationKey: string,
    messageId: string,
    sender: string,
    priority: string,
    expiresAt: string,
    now: Arg,
    ...recipients: string[]
  ): Promise<number>;
  attemptDelivery(
    confirmationKey: string,
    mailbox: string,
    now: Arg,
    mode: 'first' | 'retry',
    expectedAttempts: Arg,
    eventsChannel: string,
    publish: PublishCommand,
    ...waitsMs: Arg[]
  ): Promise<[number, number, number]>;
  updateDelivery(
    confirmationKey: string,
    mailbox: string,
    now: Arg,
    action: 'deliver' | 'wait' | 'fail' | 'expire' | 'redrive',
    keepFinishedMs: Arg,
    expectedAttempts: Arg,
    reason: string,
    eventsChannel: string,
    publish: PublishCommand,
  ): Promise<[number, string | null]>;
  claimDue(
    urgent: string,
    high: string,
    normal: string,
    low: string,
    now: Arg,
    leaseUntil: Arg,
    limit: Arg,
  ): Promise<Array<string | number>>;
  deadLetter(
    recordsKey: string,
    indexKey: string,
    pendingKey: string,
    messageId: string,
    now: Arg,
    record: string,
  ): Promise<number>;
}

export interface AuthScripts {
  setToken(metadataKey: string, digest: string): Promise<string | null>;
  rateLimit(bucketKey: string, limitPerMinute: Arg, cost: Arg): Promise<[number, number]>;
}

export type ScriptedClient = (Redis | Cluster) & MailboxScripts & AuthScripts;

const luaDirectory = join(__dirname, 'lua');

export function defineScripts(client: Redis | Cluster): ScriptedClient {
  for (const [name, script] of Object.entries(SCRIPTS)) {
    client.defineCommand(name, {
      numberOfKeys: script.keys,
      lua: readFileSync(join(luaDirectory, script.file), 'utf8'),
    });
  }
  return client as ScriptedClient;
}
