import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, type Cluster, type Redis } from 'ioredis';
import type { PublishCommand } from './redis-topology.service';

/**
 * The Lua scripts of src/redis/lua, registered once per connection with `defineCommand`.
 * Each script's header lists its KEYS, ARGV and return value; the signatures below follow it.
 */
const SCRIPTS: Record<string, { file: string; keys: number | undefined }> = {
  storeMessage: { file: 'store-message.lua', keys: 1 },
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
  releaseLock: { file: 'release-lock.lua', keys: 1 },
  writeProbe: { file: 'write-probe.lua', keys: 0 },
};

type Arg = string | number;

export interface MailboxScripts {
  storeMessage(messageKey: string, expireAtMs: string, ...fields: string[]): Promise<number>;
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

export interface MaintenanceScripts {
  releaseLock(lockKey: string, owner: string): Promise<number>;
  writeProbe(): Promise<number>;
}

export type ScriptedClient = (Redis | Cluster) & MailboxScripts & AuthScripts & MaintenanceScripts;

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

/**
 * A script for calls with hundreds of arguments, all strings already (store-and-enqueue.lua
 * with a turn's sends). A defined command costs ioredis per argument: it spreads them twice
 * and copies them once more with Array.prototype.flat (about 130 ns an argument here), which
 * took half of building such a command. This one hands the argument list to the command as
 * it is. EVALSHA, then EVAL when Redis answers NOSCRIPT (its script cache is empty after a
 * restart or a failover); EVAL loads the script for the calls after it.
 */
export class BulkScript {
  readonly sha: string;
  readonly lua: string;

  constructor(file: string) {
    this.lua = readFileSync(join(luaDirectory, file), 'utf8');
    this.sha = createHash('sha1').update(this.lua).digest('hex');
  }

  async run(
    client: Redis | Cluster,
    numberOfKeys: number,
    keysAndArgs: string[],
  ): Promise<unknown> {
    try {
      return await client.sendCommand(this.command('evalsha', this.sha, numberOfKeys, keysAndArgs));
    } catch (error) {
      if (!(error instanceof Error) || !error.message.includes('NOSCRIPT')) throw error;
      return client.sendCommand(this.command('eval', this.lua, numberOfKeys, keysAndArgs));
    }
  }

  private command(
    name: 'evalsha' | 'eval',
    script: string,
    numberOfKeys: number,
    keysAndArgs: string[],
  ): Command {
    const args = new Array<string>(keysAndArgs.length + 2);
    args[0] = script;
    args[1] = String(numberOfKeys);
    for (let i = 0; i < keysAndArgs.length; i++) args[i + 2] = keysAndArgs[i];
    const command = new Command(name, []);
    command.args = args;
    return command;
  }
}
