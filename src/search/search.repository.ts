import { Inject, Injectable } from '@nestjs/common';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient, VariableKeysScript } from '../redis/redis-scripts';
import { messageIdTime } from '../messages/message-id';
import { SearchCode } from './search-codes';
import { Clock } from '../common/clock';

/** The search scripts of src/redis/lua, as their headers describe them. */
interface SearchScripts {
  /**
   * index-search-terms.lua: keys messages, the list of term keys, the term keys; arguments
   * id, createdAt, lapse or '', trim, now.
   */
  indexSearchTerms: VariableKeysScript<number>;
  /**
   * search-ids.lua: keys metadata, messages, the term keys; arguments cursor, its time,
   * wanted, budget.
   */
  searchIds: VariableKeysScript<Array<string | number>>;
}

/** One stretch of a search index read by search-ids.lua. */
export interface SearchStretch {
  /** False when the mailbox does not exist. */
  mailboxExists: boolean;
  /** Ids held by every term's index and by the mailbox, newest first. */
  ids: string[];
  /** The last id looked at, matching or not: where the next stretch starts (null: none). */
  last: string | null;
  /** True when nothing older is left to look at. */
  end: boolean;
  /** How many ids of the rarest term's index it looked at. */
  looked: number;
}

/**
 * The per-mailbox inverted index: `mailbox:{name}:search:<term>` zsets of message ids scored
 * by createdAt, written and read by one script each, on the mailbox's hash tag only.
 */
@Injectable()
export class SearchRepository {
  private readonly redis: ScriptedClient & SearchScripts;

  constructor(
    @Inject(REDIS_COMMANDS) redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
  ) {
    this.redis = redis as ScriptedClient & SearchScripts;
  }

  /**
   * Adds one message to one mailbox's index under each of `terms` (distinct, tokenized).
   * `lapseAt` (null: never) is when its entries may go; `trim` first drops, from those terms'
   * indexes, the ids older than the mailbox's oldest message.
   */
  async index(
    mailbox: string,
    terms: string[],
    message: { id: string; createdAt: number },
    lapseAt: number | null,
    trim: boolean,
  ): Promise<void> {
    if (terms.length === 0) return;
    const keys = [
      this.keys.mailboxMessages(mailbox),
      this.keys.searchTerms(mailbox),
      ...terms.map((term) => this.keys.searchTerm(mailbox, term)),
    ];
    await this.redis.indexSearchTerms(keys, [
      message.id,
      message.createdAt,
      lapseAt === null ? '' : lapseAt,
      trim ? '1' : '0',
      this.clock.now(),
    ]);
  }

  /**
   * Ids older than `before` (null: from the newest) that every term's index and the mailbox
   * hold, newest first: at most `wanted`, looking at no more than `budget` ids of the rarest
   * term's index.
   */
  async stretch(
    mailbox: string,
    terms: string[],
    before: string | null,
    wanted: number,
    budget: number,
  ): Promise<SearchStretch> {
    const keys = [
      this.keys.mailboxMetadata(mailbox),
      this.keys.mailboxMessages(mailbox),
      ...terms.map((term) => this.keys.searchTerm(mailbox, term)),
    ];
    const [code, last, looked, ...ids] = await this.redis.searchIds(keys, [
      before ?? '',
      before === null ? '+inf' : messageIdTime(before),
      wanted,
      budget,
    ]);
    return {
      mailboxExists: Number(code) !== SearchCode.NoMailbox,
      ids: ids.map(String),
      last: last === '' ? null : String(last),
      end: Number(code) !== SearchCode.More,
      looked: Number(looked),
    };
  }

  /**
   * Deletes up to `limit` of a mailbox's term indexes (those the list of term keys names) and
   * returns how many it took from the list: 0 once the index is gone. UNLINK: a large index
   * is freed outside Redis' main thread. An index written while
   * this runs, for a mailbox of the same name registered again, is left alone unless listed.
   */
  async dropIndex(mailbox: string, limit: number): Promise<number> {
    const list = this.keys.searchTerms(mailbox);
    // A set in earlier versions.
    const names =
      (await this.redis.type(list)) === 'set'
        ? await this.redis.spop(list, limit)
        : (await this.redis.zpopmin(list, limit)).filter((_, index) => index % 2 === 0);
    if (names.length > 0) await this.redis.unlink(...names);
    return names.length;
  }
}
