import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { EncodedCommand } from './encoded-command';
import { replyCode } from './redis.errors';
import type { RegisterCode } from './script-codes';
import type { PublishCommand } from './redis-topology.service';

/**
 * The Lua scripts of src/redis/lua, a method each on every connection (see defineScripts).
 * Each script's header lists its KEYS, ARGV and return value; the signatures below follow it.
 * A line `--- @include "lib/<file>.lua"` is replaced by that file, once per script, so that
 * scripts share functions instead of copies of them.
 */
const SCRIPTS: Record<string, { file: string; keys: number | undefined }> = {
  storeMessage: { file: 'store-message.lua', keys: 3 },
  markRead: { file: 'mark-read.lua', keys: 2 },
  readPrefix: { file: 'read-prefix.lua', keys: 2 },
  storeAndEnqueue: { file: 'store-and-enqueue.lua', keys: undefined },
  guardedSend: { file: 'guarded-send.lua', keys: undefined },
  enqueueMailbox: { file: 'enqueue-mailbox.lua', keys: 3 },
  enqueueTopic: { file: 'enqueue-topic.lua', keys: 3 },
  forgetEmptyTopic: { file: 'forget-empty-topic.lua', keys: 3 },
  registerMailbox: { file: 'register-mailbox.lua', keys: 1 },
  deactivateMailbox: { file: 'deactivate-mailbox.lua', keys: 1 },
  pageIds: { file: 'page-ids.lua', keys: 1 },
  messagePreview: { file: 'message-preview.lua', keys: 1 },
  touchMailbox: { file: 'touch-mailbox.lua', keys: 1 },
  setMailboxSetting: { file: 'set-mailbox-setting.lua', keys: 1 },
  attemptDelivery: { file: 'attempt-delivery.lua', keys: 1 },
  updateDelivery: { file: 'update-delivery.lua', keys: 1 },
  claimDue: { file: 'claim-due.lua', keys: 4 },
  deadLetter: { file: 'dead-letter.lua', keys: 3 },
  setToken: { file: 'set-token.lua', keys: 1 },
  authenticateCharge: { file: 'authenticate-charge.lua', keys: undefined },
  releaseLock: { file: 'release-lock.lua', keys: 1 },
  claimIdempotency: { file: 'claim-idempotency.lua', keys: 2 },
  releaseIdempotency: { file: 'release-idempotency.lua', keys: 2 },
  writeProbe: { file: 'write-probe.lua', keys: 0 },
  claimDeadlines: { file: 'claim-deadlines.lua', keys: 1 },
  stampReplyTimeout: { file: 'stamp-reply-timeout.lua', keys: 1 },
  retentionCandidates: { file: 'retention-candidates.lua', keys: 5 },
  trimMailbox: { file: 'trim-mailbox.lua', keys: 5 },
  deleteMailbox: { file: 'delete-mailbox.lua', keys: 2 },
  finishDeletion: { file: 'finish-deletion.lua', keys: 1 },
  indexSearchTerms: { file: 'index-search-terms.lua', keys: undefined },
  searchIds: { file: 'search-ids.lua', keys: undefined },
  sendGuard: { file: 'send-guard.lua', keys: 4 },
  sendGuards: { file: 'send-guards.lua', keys: undefined },
  threadGuard: { file: 'thread-guard.lua', keys: 1 },
  uncountSend: { file: 'uncount-send.lua', keys: 2 },
  threadControl: { file: 'thread-control.lua', keys: 1 },
};

type Arg = string | number;

/**
 * A script whose number of keys varies by call (the shared calls of many sends or checks):
 * its keys and its arguments as two lists, which the call joins once behind the script.
 */
export type VariableKeysScript<T> = (keys: readonly string[], args: readonly Arg[]) => Promise<T>;

export interface MailboxScripts {
  storeMessage(
    messageKey: string,
    confirmationKey: string,
    recipientsKey: string,
    expireAtMs: string,
    now: Arg,
    requiresConfirmation: '0' | '1',
    recipientsUntilMs: string,
    recipientCount: Arg,
    ...recipientsThenFields: string[]
  ): Promise<number>;
  markRead(
    messagesKey: string,
    readKey: string,
    mode: 'ids' | 'upTo',
    ...args: Arg[]
  ): Promise<[number, number, string?]>;
  readPrefix(messagesKey: string, readKey: string): Promise<string>;
  /** Six keys per send, and the arguments store-and-enqueue.lua's header lists. */
  storeAndEnqueue: VariableKeysScript<number[]>;
  /** Ten keys per send (twelve in a thread), and the arguments guarded-send.lua's header lists. */
  guardedSend: VariableKeysScript<Array<number | string>>;
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
    arrivalsKey: string,
    id: string,
    score: Arg,
    topic: string,
  ): Promise<number>;
  /** 1 when the topic's history was empty and its metadata is deleted, else 0. */
  forgetEmptyTopic(messagesKey: string, metadataKey: string, arrivalsKey: string): Promise<number>;
  registerMailbox(
    metadataKey: string,
    name: string,
    now: Arg,
    metadata: string,
    tokenHash: string,
  ): Promise<[RegisterCode, string]>;
  /** 1 when written; 0 when the mailbox does not exist. `value` '' removes the field. */
  setMailboxSetting(metadataKey: string, field: string, value: string): Promise<number>;
  deactivateMailbox(metadataKey: string, now: Arg): Promise<number>;
  pageIds(indexKey: string, cursor: string, cursorScore: Arg, count: Arg): Promise<string[]>;
  /** The hash's entries with the content cut to `bytes`, and 1 when it was cut (else 0). */
  messagePreview(messageKey: string, bytes: Arg): Promise<[string[], number]>;
  touchMailbox(metadataKey: string, now: Arg): Promise<number>;
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
    ...header: Arg[]
  ): Promise<[number, string | null, (string | null)?]>;
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
  /** Two keys per check; the limit, then two arguments per check (the script's header). */
  authenticateCharge: VariableKeysScript<Array<number | string>>;
}

export interface MaintenanceScripts {
  releaseLock(lockKey: string, owner: string): Promise<number>;
  claimIdempotency(
    idempotencyKey: string,
    indexKey: string,
    id: string,
    windowMs: Arg,
    now: Arg,
  ): Promise<string | null>;
  releaseIdempotency(idempotencyKey: string, indexKey: string, id: string): Promise<number>;
  writeProbe(): Promise<number>;
  retentionCandidates(
    metadataKey: string,
    messagesKey: string,
    pendingKey: string,
    deadLetterIndexKey: string,
    readKey: string,
    mode: 'trim' | 'delete',
    keepOrDeletedAt: Arg,
    lowestScoreKept: Arg,
    limit: Arg,
  ): Promise<[string, string[], string[], string[]]>;
  trimMailbox(
    messagesKey: string,
    pendingKey: string,
    deadLettersKey: string,
    deadLetterIndexKey: string,
    readKey: string,
    ...ids: string[]
  ): Promise<number>;
  deleteMailbox(metadataKey: string, rateLimitKey: string, deletedAt: Arg): Promise<string | null>;
  finishDeletion(deletingKey: string, name: string, deletedAt: Arg): Promise<number>;
}

export type ScriptedClient = (Redis | Cluster) & MailboxScripts & AuthScripts & MaintenanceScripts;

const luaDirectory = join(__dirname, 'lua');

const INCLUDE = /^--- @include "([^"]+)"$/gm;

/** A script's text with its includes in place. */
export function scriptSource(file: string, included = new Set<string>()): string {
  const text = readFileSync(join(luaDirectory, file), 'utf8');
  return text.replace(INCLUDE, (_line, name: string) => {
    if (included.has(name)) return '';
    included.add(name);
    return scriptSource(name, included);
  });
}

/** Returns the array it is called on: see scriptCommand. */
function itself(this: Arg[]): Arg[] {
  return this;
}

/**
 * EVALSHA or EVAL with `args` as they are, through ioredis's public Command (encoded into one
 * Buffer: see EncodedCommand) and sendCommand.
 * The Command constructor flattens its arguments with Array.prototype.flat, which costs V8
 * about 80 ns an element whatever the elements are: a send's arguments in a shared script
 * call are 50 or more, about 4 us a message and 6.8% of the service's CPU in w2 (see
 * docs/performance-log.md). A script call's arguments are flat already, so their array is given
 * its own `flat`, which returns it as it is: what flattening it would give. (ioredis's
 * keyPrefix, which the constructor would add to the keys, is never set on the service's
 * clients: RedisKeys prefixes every key itself.)
 */
function scriptCommand(
  client: Redis | Cluster,
  name: 'evalsha' | 'eval',
  args: Arg[],
): Promise<unknown> {
  args.flat = itself as Arg[]['flat'];
  const command = new EncodedCommand(name, args, { replyEncoding: 'utf8' });
  void client.sendCommand(command);
  return command.promise;
}

/**
 * EVALSHA with `call` (the script's SHA-1 first), and EVAL (which caches the script again)
 * when Redis does not hold it.
 */
async function runScript(client: Redis | Cluster, lua: string, call: Arg[]): Promise<unknown> {
  try {
    return await scriptCommand(client, 'evalsha', call);
  } catch (error) {
    // Redis does not hold the script: after a restart, a failover or a flush.
    if (replyCode(error) !== 'NOSCRIPT') throw error;
    call[0] = lua;
    return scriptCommand(client, 'eval', call);
  }
}

/**
 * One script as a method. `keys` is the script's fixed number of keys, and the method takes
 * its keys and arguments as the script's header lists them; without one, the method is a
 * VariableKeysScript.
 */
function scriptMethod(
  client: Redis | Cluster,
  lua: string,
  keys: number | undefined,
): (...args: never[]) => Promise<unknown> {
  const sha = hash('sha1', lua);
  if (keys !== undefined) return (...args: Arg[]) => runScript(client, lua, [sha, keys, ...args]);
  // A shared call's keys and arguments run to thousands: they are copied once, by one concat,
  // where spreading them into the method and again behind the script made three copies
  // (5.7% of what the router allocated in c).
  return (keyList: readonly string[], args: readonly Arg[]) =>
    runScript(client, lua, [sha, keyList.length].concat(keyList, args));
}

/**
 * Adds each script of SCRIPTS to `client` as a method of its name.
 *
 * Not ioredis's `defineCommand`: its script command wraps each call's reject in a new
 * closure, and while V8 ran that wrapper unoptimized (until it optimized it, and again after
 * each deoptimization) every send's objects outlived a young-generation collection and were
 * promoted: about 500 KB a scavenge instead of a few KB, each pause about twice as long.
 * Plain EVALSHA does not (docs/performance-log.md, "What the figures rest on").
 */
export function defineScripts(client: Redis | Cluster): ScriptedClient {
  const methods: Record<string, (...args: never[]) => Promise<unknown>> = {};
  for (const [name, script] of Object.entries(SCRIPTS)) {
    methods[name] = scriptMethod(client, scriptSource(script.file, new Set()), script.keys);
  }
  Object.assign(client, methods);
  return client as ScriptedClient;
}
