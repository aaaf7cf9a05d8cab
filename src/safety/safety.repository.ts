import { Inject, Injectable } from '@nestjs/common';
import { threadKey } from '../messages/thread-key';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient, VariableKeysScript } from '../redis/redis-scripts';
import { RedisTopology } from '../redis/redis-topology.service';
import { ScriptBatch } from '../redis/script-batch';
import type { SendGuardCode, ThreadGuardCode } from '../redis/script-codes';
import { readStoredPolicy } from './contact-policy';

type Arg = string | number;

/** The safety scripts of src/redis/lua, as their headers describe them. */
interface SafetyScripts {
  sendGuard(
    metadataKey: string,
    pairKey: string,
    duplicateKey: string,
    tokensKey: string,
    ...args: Arg[]
  ): Promise<[number, number | string]>;
  /** Five keys per send, and eight arguments per send (send-guards.lua's header). */
  sendGuards: VariableKeysScript<Array<number | string>>;
  threadGuard(guardKey: string, ...args: Arg[]): Promise<[number, number]>;
  uncountSend(
    tokensKey: string,
    pairKey: string,
    tokens: number,
    recipient: string,
    messageId: string,
  ): Promise<number>;
  threadControl(
    guardKey: string,
    control: 'paused' | 'maxTokens',
    value: string,
    stateMs: number,
  ): Promise<number>;
}

/** What the sender's guard is asked. */
export interface SendGuardRequest {
  sender: string;
  /** The DIRECT recipient; null for BROADCAST and TOPIC. */
  recipient: string | null;
  messageId: string;
  /** SHA-256 (hex) of the body, which the message's signature covers too. */
  contentDigest: string;
  /** SHA-256 (hex) of the recipient and contentDigest, for the duplicate guard. */
  digest: string;
  now: number;
  pairLimitPerMinute: number;
  duplicateWindowMs: number;
  tokens: number;
  defaultDailyBudget: number;
}

/** What the thread's guard is asked, for a send in a thread of another message. */
export interface ThreadGuardRequest {
  threadId: string;
  /** The recipient of a reply, whose visits the guard counts; null for a send that is none. */
  recipient: string | null;
  /** Replies that may reach one recipient in the thread (0: no limit). */
  maxVisits: number;
  tokens: number;
  /** The operator's own post: the thread's visit counts start again. */
  reset: boolean;
}

/** What the sender's guard answered, with the recipient's contact policy read beside it. */
export interface SenderAnswer {
  guard: [SendGuardCode, number | string];
  /** The DIRECT recipient's contact policy; null when it set none or the send has no recipient. */
  policy: string[] | null;
}

/** A thread's guard state as the operator reads it. */
export interface ThreadState {
  paused: boolean;
  maxTokens: number | null;
  spentTokens: number;
  messages: number;
}

const DAY_MS = 86_400_000;
/** How long a thread's guard state outlives its last message. */
const THREAD_STATE_MS = 30 * DAY_MS;
/** How long a day's token counters are kept: the day and the next. */
const DAY_COUNTERS_MS = 2 * DAY_MS;
/** The most sends one call of send-guards.lua checks. */
const GUARD_BATCH = 100;

/** The day utcDay named last, by its first millisecond: a send's day is nearly always it. */
let lastDay = { start: 0, text: '1970-01-01' };

/** GraphQL's largest Int: a sum of tokens shown as more reads as this. */
const MAX_INT = 2 ** 31 - 1;

/**
 * A token sum as Redis keeps it (a missing field: 0), as the API shows it: a sum past GraphQL's
 * Int (over 214 messages at the reported ceiling in a day) shows as MAX_INT, still past every
 * budget (at most 2,000,000,000).
 */
function tokenSum(value: string | null | undefined): number {
  return Math.min(Number(value ?? 0), MAX_INT);
}

/** The UTC day of `time`, as YYYY-MM-DD. */
export function utcDay(time: number): string {
  const start = time - (((time % DAY_MS) + DAY_MS) % DAY_MS);
  if (start !== lastDay.start) {
    lastDay = { start, text: new Date(start).toISOString().slice(0, 10) };
  }
  return lastDay.text;
}

/** send_guard's four keys, on the sender's tag (lib/send-guard.lua). */
export function senderGuardKeys(
  keys: RedisKeys,
  request: SendGuardRequest,
): [string, string, string, string] {
  const { sender, recipient } = request;
  return [
    keys.mailboxMetadata(sender),
    keys.mailboxPair(sender, recipient ?? ''),
    keys.mailboxDuplicate(sender, request.digest),
    keys.mailboxTokens(sender, utcDay(request.now)),
  ];
}

/** send_guard's eight arguments (lib/send-guard.lua). */
export function senderGuardArguments(request: SendGuardRequest): Arg[] {
  return [
    request.now,
    request.messageId,
    request.pairLimitPerMinute,
    request.duplicateWindowMs,
    request.tokens,
    request.defaultDailyBudget,
    request.recipient ?? '',
    DAY_COUNTERS_MS,
  ];
}

/**
 * send_guard's arguments that guarded-send.lua takes once a call (pairLimit, defaultBudget,
 * dayMs): they come from the configuration, alike for every send. Throws for `requests` that
 * differ in them, which one configuration never makes.
 */
export function senderGuardCallArguments(requests: readonly SendGuardRequest[]): Arg[] {
  const [first] = requests;
  for (const request of requests) {
    if (
      request.pairLimitPerMinute !== first.pairLimitPerMinute ||
      request.defaultDailyBudget !== first.defaultDailyBudget
    ) {
      throw new Error('the sends of one guarded-send.lua call differ in their configured limits');
    }
  }
  return [first.pairLimitPerMinute, first.defaultDailyBudget, DAY_COUNTERS_MS];
}

/**
 * send_guard's arguments that guarded-send.lua takes per send (now, dupMs, tokens); its id and
 * recipient are the store's own arguments.
 */
export function senderGuardSendArguments(request: SendGuardRequest): Arg[] {
  return [request.now, request.duplicateWindowMs, request.tokens];
}

/** The thread guard's key and the thread's index, on the thread's tag (guarded-send.lua). */
export function threadGuardKeys(keys: RedisKeys, request: ThreadGuardRequest): [string, string] {
  const tag = threadKey(request.threadId);
  return [keys.threadGuard(tag), keys.thread(tag)];
}

/**
 * thread_check's recipient, maxVisits and reset, and thread_count's stateMs
 * (lib/thread-guard.lua), as guarded-send.lua and thread-guard.lua take them; the tokens
 * follow in thread-guard.lua, and are send_guard's in guarded-send.lua.
 */
export function threadGuardArguments(request: ThreadGuardRequest): Arg[] {
  return [request.recipient ?? '', request.maxVisits, request.reset ? '1' : '0', THREAD_STATE_MS];
}

/**
 * The guards' state in Redis: per sender on its mailbox's tag (pause flag, contact policy and
 * daily budget in the mailbox's metadata hash; the pair window, the duplicate guard and the
 * day's token counters beside it), per thread on the thread's tag. Every check and count of a
 * send is one script per tag, so the guards cost O(1) per send and hold on Redis Cluster.
 */
@Injectable()
export class SafetyRepository {
  private readonly redis: ScriptedClient & SafetyScripts;
  private readonly senders = new ScriptBatch<SendGuardRequest, SenderAnswer>(
    (requests) => this.sendGuards(requests),
    GUARD_BATCH,
  );

  constructor(
    @Inject(REDIS_COMMANDS) redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly topology: RedisTopology,
  ) {
    this.redis = redis as ScriptedClient & SafetyScripts;
  }

  /**
   * The sender's guard for one send, and the recipient's contact policy. Where one node holds
   * every key (standalone Redis, Sentinel), the sends of one event-loop turn share a few calls
   * of send-guards.lua, which reads each recipient's policy too, as the store gathers its
   * writes (ScriptBatch); on Cluster the sender's and the recipient's tags are in different
   * slots, so the guard is its own script call and the policy its own read.
   */
  async sender(request: SendGuardRequest): Promise<SenderAnswer> {
    if (this.topology.mode !== 'cluster') return this.senders.add(request);
    const [guard, policy] = await Promise.all([
      this.sendGuard(request),
      request.recipient === null ? null : this.contactPolicy(request.recipient),
    ]);
    return { guard, policy };
  }

  private async sendGuard(request: SendGuardRequest): Promise<[SendGuardCode, number | string]> {
    const [code, detail] = await this.redis.sendGuard(
      ...senderGuardKeys(this.keys, request),
      ...senderGuardArguments(request),
    );
    return [Number(code) as SendGuardCode, detail];
  }

  private async sendGuards(requests: SendGuardRequest[]): Promise<SenderAnswer[]> {
    const keys: string[] = [];
    const args: Arg[] = [];
    for (const request of requests) {
      keys.push(
        ...senderGuardKeys(this.keys, request),
        this.keys.mailboxMetadata(request.recipient ?? request.sender),
      );
      args.push(...senderGuardArguments(request));
    }
    const flat = await this.redis.sendGuards(keys, args);
    return requests.map((_request, index) => ({
      guard: [Number(flat[3 * index]) as SendGuardCode, flat[3 * index + 1]],
      policy: flat[3 * index + 2] === '' ? null : readStoredPolicy(String(flat[3 * index + 2])),
    }));
  }

  async threadGuard(request: ThreadGuardRequest): Promise<[ThreadGuardCode, number]> {
    const [guardKey] = threadGuardKeys(this.keys, request);
    const [code, detail] = await this.redis.threadGuard(
      guardKey,
      ...threadGuardArguments(request),
      request.tokens,
    );
    return [Number(code) as ThreadGuardCode, Number(detail)];
  }

  /**
   * Takes back what an admitted sendGuard counted, for a send another guard refused: its place
   * in the pair window, its duplicate mark (while still its own) and its tokens
   * (uncount-send.lua, which deletes a recipient's `to:` field that comes back to 0).
   */
  async uncountSend(request: SendGuardRequest): Promise<void> {
    const { sender, recipient } = request;
    const tokensKey = this.keys.mailboxTokens(sender, utcDay(request.now));
    // Without a recipient the pair key is only a key of the sender's slot, left untouched.
    const pairKey = this.keys.mailboxPair(sender, recipient ?? '');
    await this.redis.uncountSend(
      tokensKey,
      pairKey,
      request.tokens,
      recipient ?? '',
      request.messageId,
    );
    if (recipient !== null && request.duplicateWindowMs > 0) {
      const key = this.keys.mailboxDuplicate(sender, request.digest);
      if ((await this.redis.get(key)) === request.messageId) await this.redis.del(key);
    }
  }

  /** Takes back what an admitted threadGuard counted, for a send another guard refused. */
  async uncountThread(request: ThreadGuardRequest): Promise<void> {
    const [key] = threadGuardKeys(this.keys, request);
    const pipeline = this.redis.pipeline();
    pipeline.hincrby(key, 'spent', -request.tokens);
    pipeline.hincrby(key, 'messages', -1);
    if (request.recipient !== null && !request.reset) {
      pipeline.hincrby(key, `v:${request.recipient}`, -1);
    }
    await pipeline.exec();
  }

  /** The mailbox's contact policy; null when it set none (anyone may write). */
  async contactPolicy(mailbox: string): Promise<string[] | null> {
    return readStoredPolicy(
      await this.redis.hget(this.keys.mailboxMetadata(mailbox), 'acceptFrom'),
    );
  }

  /**
   * Sets (or, with '', removes) a setting in the mailbox's metadata; false when the mailbox
   * is gone (deleted since it was looked up), with nothing written.
   */
  private async setting(mailbox: string, field: string, value: string): Promise<boolean> {
    return (
      (await this.redis.setMailboxSetting(this.keys.mailboxMetadata(mailbox), field, value)) === 1
    );
  }

  /** Sets (or, with null, removes) the policy; false when the mailbox is gone. */
  async setContactPolicy(mailbox: string, patterns: string[] | null): Promise<boolean> {
    return this.setting(mailbox, 'acceptFrom', patterns === null ? '' : JSON.stringify(patterns));
  }

  /**
   * The flag in the mailbox's metadata (what the guard reads), and the index that counts it;
   * false when the mailbox is gone.
   */
  async setPaused(mailbox: string, paused: boolean): Promise<boolean> {
    if (!(await this.setting(mailbox, 'paused', paused ? '1' : ''))) return false;
    if (paused) await this.redis.sadd(this.keys.mailboxIndexPaused(), mailbox);
    else await this.redis.srem(this.keys.mailboxIndexPaused(), mailbox);
    return true;
  }

  /** How many mailboxes and threads are paused now. */
  /** The paused mailboxes' names. */
  async pausedMailboxes(): Promise<Set<string>> {
    return new Set(await this.redis.smembers(this.keys.mailboxIndexPaused()));
  }

  async pausedCounts(): Promise<{ mailboxes: number; threads: number }> {
    const [mailboxes, threads] = await Promise.all([
      this.redis.scard(this.keys.mailboxIndexPaused()),
      this.redis.scard(this.keys.threadIndexPaused()),
    ]);
    return { mailboxes, threads };
  }

  /**
   * The mailbox's own daily budget (null: none, so the default applies); false when the
   * mailbox is gone.
   */
  async setDailyBudget(mailbox: string, tokens: number | null): Promise<boolean> {
    return this.setting(mailbox, 'dailyTokenBudget', tokens === null ? '' : String(tokens));
  }

  /** paused and dailyTokenBudget of a mailbox, as stored. */
  async mailboxState(
    mailbox: string,
  ): Promise<{ paused: boolean; dailyTokenBudget: number | null }> {
    const [paused, budget] = await this.redis.hmget(
      this.keys.mailboxMetadata(mailbox),
      'paused',
      'dailyTokenBudget',
    );
    return {
      paused: paused === '1',
      dailyTokenBudget: budget === null ? null : Number(budget),
    };
  }

  /**
   * Tokens the mailbox sent on the UTC day of `now`, per recipient of its DIRECT messages. A
   * recipient whose count is back at 0 (only refused sends, taken back) is left out.
   */
  async tokensByRecipientOn(
    mailbox: string,
    now: number,
  ): Promise<Array<{ recipient: string; tokens: number }>> {
    const counters = await this.redis.hgetall(this.keys.mailboxTokens(mailbox, utcDay(now)));
    return Object.entries(counters)
      .filter(([field, tokens]) => field.startsWith('to:') && Number(tokens) > 0)
      .map(([field, tokens]) => ({ recipient: field.slice(3), tokens: tokenSum(tokens) }))
      .sort((x, y) => y.tokens - x.tokens || x.recipient.localeCompare(y.recipient));
  }

  /**
   * Deletes a deleted mailbox's counters: its token counters of the days they may still be
   * kept, and the pair windows of the recipients they name. Its duplicate marks lapse by
   * themselves within DUPLICATE_WINDOW.
   */
  async forgetMailbox(mailbox: string, now: number): Promise<void> {
    const days = [0, 1, 2].map((back) =>
      this.keys.mailboxTokens(mailbox, utcDay(now - back * DAY_MS)),
    );
    const recipients = new Set<string>();
    for (const key of days) {
      for (const field of await this.redis.hkeys(key)) {
        if (field.startsWith('to:')) recipients.add(field.slice(3));
      }
    }
    const keys = [...days, ...[...recipients].map((to) => this.keys.mailboxPair(mailbox, to))];
    // One slot ({mailbox}): a DEL of many keys holds on Cluster.
    await this.redis.del(...keys);
    await this.redis.srem(this.keys.mailboxIndexPaused(), mailbox);
  }

  /** Tokens the mailbox sent on the UTC day of `now`. */
  async tokensOn(mailbox: string, now: number): Promise<number> {
    return tokenSum(await this.redis.hget(this.keys.mailboxTokens(mailbox, utcDay(now)), 'total'));
  }

  async threadState(threadId: string): Promise<ThreadState> {
    const [paused, maxTokens, spent, messages] = await this.redis.hmget(
      this.keys.threadGuard(threadKey(threadId)),
      'paused',
      'maxTokens',
      'spent',
      'messages',
    );
    return {
      paused: paused === '1',
      maxTokens: maxTokens === null ? null : Number(maxTokens),
      spentTokens: tokenSum(spent),
      messages: Number(messages ?? 0),
    };
  }

  /** Pauses or resumes the thread; a paused thread's state is kept until it is resumed. */
  async setThreadPaused(threadId: string, paused: boolean): Promise<void> {
    await this.threadControl(threadId, 'paused', paused ? '1' : '');
    if (paused) await this.redis.sadd(this.keys.threadIndexPaused(), threadId);
    else await this.redis.srem(this.keys.threadIndexPaused(), threadId);
  }

  /** Sets the thread's budget, kept until it is removed; null removes it. */
  async setThreadBudget(threadId: string, maxTokens: number | null): Promise<void> {
    await this.threadControl(threadId, 'maxTokens', maxTokens === null ? '' : String(maxTokens));
  }

  private async threadControl(
    threadId: string,
    control: 'paused' | 'maxTokens',
    value: string,
  ): Promise<void> {
    const key = this.keys.threadGuard(threadKey(threadId));
    await this.redis.threadControl(key, control, value, THREAD_STATE_MS);
  }
}
