import { Inject, Injectable } from '@nestjs/common';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import type { ScriptedClient } from '../redis/redis-scripts';

type Arg = string | number;

/** The deadline scripts of src/redis/lua, as their headers describe them. */
interface DeadlineScripts {
  /** claim-deadlines.lua */
  claimDeadlines(deadlinesKey: string, now: Arg, leaseUntil: Arg, limit: Arg): Promise<string[]>;
  /** stamp-reply-timeout.lua */
  stampReplyTimeout(messageKey: string, now: Arg): Promise<string | null>;
}

/**
 * The schedule of request deadlines, `requests:{schedule}:deadlines`: request ids scored by
 * their replyBy. The store step adds a request when it stores it and the router removes it
 * when a timely reply answers it; what is left falls due here.
 */
@Injectable()
export class RequestDeadlineRepository {
  private readonly redis: ScriptedClient & DeadlineScripts;

  constructor(
    @Inject(REDIS_COMMANDS) redis: ScriptedClient,
    private readonly keys: RedisKeys,
  ) {
    this.redis = redis as ScriptedClient & DeadlineScripts;
  }

  /**
   * Up to `limit` request ids whose deadline (or lapsed claim) is at or before `now`, earliest
   * first, claimed until `leaseUntil`: no other instance takes them before then.
   */
  async claimDue(now: number, leaseUntil: number, limit: number): Promise<string[]> {
    return this.redis.claimDeadlines(this.keys.requestDeadlines(), now, leaseUntil, limit);
  }

  /**
   * The time the request's timeout was first handled, recorded as `now` by the first call and
   * answered unchanged to every later one; null when the request is not stored any more.
   */
  async stampTimeout(requestId: string, now: number): Promise<number | null> {
    const stamped = await this.redis.stampReplyTimeout(this.keys.message(requestId), now);
    return stamped === null ? null : Number(stamped);
  }

  /** The request's deadline is dealt with: it leaves the schedule. */
  async remove(requestId: string): Promise<void> {
    await this.redis.zrem(this.keys.requestDeadlines(), requestId);
  }
}
