import { Inject, Injectable } from '@nestjs/common';
import { REDIS_COMMANDS } from '../redis/redis.constants';
import { RedisKeys } from '../redis/redis-keys';
import { RedisTopology } from '../redis/redis-topology.service';
import type { ScriptedClient } from '../redis/redis-scripts';
import { TopicEnqueueCode } from '../redis/script-codes';
import { ARRIVALS_START, isAfter, type Arrival, type ArrivalCursor } from './arrival-cursor';

/** What the topic index and a topic's metadata say about it. */
export interface TopicRecord {
  name: string;
  /** Epoch ms of its first message (of its latest, if the metadata is not there yet). */
  createdAt: number;
  lastMessageAt: number;
  messageCount: number;
}

/** A topic in the index by activity: its name and its last message time (epoch ms). */
export interface TopicActivity {
  name: string;
  score: number;
}

/** Bounds of a listing by name: names above `after` and starting with `prefix`. */
export interface NameRange {
  after: string | null;
  prefix: string;
}

/** Above every character a topic may hold, so `prefix + NAME_END` bounds a prefix's names. */
const NAME_END = '\x7f';

/** Owns `topic:{name}:*`, the topic index `topics:{index}:*` and the topic feed channel. */
@Injectable()
export class TopicRepository {
  constructor(
    @Inject(REDIS_COMMANDS) private readonly redis: ScriptedClient,
    private readonly keys: RedisKeys,
    private readonly topology: RedisTopology,
  ) {}

  /**
   * Adds a stored message to the topic's history, then publishes it, once. Returns the number
   * of service instances listening to topics, or null when the message was already there and
   * published (a retried send whose first try stopped after the history, before or during the
   * publish, publishes it now).
   * The feed is one channel for every topic, `topics:{feed}`: on Cluster a shard channel
   * whose slot no topic shares, so the publish is a step of its own after the script.
   *
   * The topic index has a tag of its own too, `{index}`, so it is written beside the script,
   * on a retried send as well (the first try may have stopped before it). Both are done before
   * the publish: a catch-up that lists the index after subscribing either finds the topic with
   * this message or gets the message live.
   */
  async append(
    topic: string,
    id: string,
    createdAt: number,
    payload: string,
  ): Promise<number | null> {
    const [added] = await Promise.all([
      this.redis.enqueueTopic(
        this.keys.topicMessages(topic),
        this.keys.topicMetadata(topic),
        this.keys.topicArrivals(topic),
        id,
        createdAt,
        topic,
      ),
      this.index(topic, createdAt),
    ]);
    if (added === TopicEnqueueCode.Duplicate) return null;
    const receivers = await this.topology.publish(this.keys.topicFeed(), payload);
    // Published: a retry no longer publishes it. Not awaited, so that a send waits for no
    // more round trips than before; a failure leaves the mark, and a retry publishes again,
    // which the feeds drop as a twin they have had.
    this.redis.hdel(this.keys.topicMetadata(topic), `unpublished:${id}`).catch(() => undefined);
    return receivers;
  }

  /**
   * Chunks of the topics whose last message is at or after `since` (epoch ms; null for every
   * topic), oldest activity first. A topic that gets a message meanwhile may come twice; one
   * that is in the index from start to end comes at least once: each read starts at the score
   * reached (scores only grow), never at an offset that a moving topic would shift.
   */
  async *activeSince(since: number | null, chunk = 1_000): AsyncGenerator<string[]> {
    const key = this.keys.topicIndexAll();
    for await (const entries of this.byActivity(key, 'oldest', since ?? -Infinity, chunk)) {
      yield entries.map((entry) => entry.name);
    }
  }

  /**
   * Chunks of the topics in which a message was stored at or after `since` (epoch ms, by the
   * clock of the instance that stored it), oldest first; as activeSince, a topic may come twice.
   */
  async *storedSince(since: number, chunk = 1_000): AsyncGenerator<string[]> {
    const key = this.keys.topicIndexArrivals();
    for await (const entries of this.byActivity(key, 'oldest', since, chunk)) {
      yield entries.map((entry) => entry.name);
    }
  }

  /**
   * Up to `count` messages of the topic stored after the cursor, in the order they were
   * stored, each with its arrival stamp (see enqueue-topic.lua).
   */
  async arrivalsAfter(
    topic: string,
    cursor: ArrivalCursor,
    count: number,
  ): Promise<{ arrivals: Arrival[]; more: boolean }> {
    // The cursor's own stamp is read again, for another topic's message at that stamp with
    // a greater id; a topic's stamps never repeat, so one more than `count` past it is enough
    // to say whether more follow.
    const reply = await this.redis.zrange(
      this.keys.topicArrivals(topic),
      String(cursor.stamp),
      '+inf',
      'BYSCORE',
      'LIMIT',
      0,
      count + 2,
      'WITHSCORES',
    );
    const arrivals: Arrival[] = [];
    for (let i = 0; i + 1 < reply.length; i += 2) {
      const stamp = Number(reply[i + 1]);
      if (isAfter(cursor, stamp, reply[i])) arrivals.push({ stamp, id: reply[i] });
    }
    return { arrivals: arrivals.slice(0, count), more: arrivals.length > count };
  }

  /** The place after the topic's last stored message: what is stored later comes after it. */
  async lastArrival(topic: string): Promise<ArrivalCursor> {
    const [, stamp] = await this.redis.zrange(
      this.keys.topicArrivals(topic),
      '-1',
      '-1',
      'WITHSCORES',
    );
    return stamp === undefined ? ARRIVALS_START : { stamp: Number(stamp), id: null };
  }

  /**
   * The place after every message stored until now, by this Redis's clock (on Cluster, that of
   * one node): what is stored later on this Redis comes after it.
   */
  async arrivalNow(): Promise<ArrivalCursor> {
    const [seconds, microseconds] = await this.redis.time();
    return { stamp: Number(seconds) * 1_000_000 + Number(microseconds), id: null };
  }

  /** The place of a stored topic message, or null when it is not in the topic's arrivals. */
  async arrivalOf(topic: string, id: string): Promise<Arrival | null> {
    const stamp = await this.redis.zscore(this.keys.topicArrivals(topic), id);
    return stamp === null ? null : { stamp: Number(stamp), id };
  }

  /**
   * Chunks of every topic with its last message time (epoch ms), latest first. A topic that
   * gets a message meanwhile moves above the scan and is not given (what it had was older
   * than what it now has); the rest come once each.
   */
  newestActive(chunk = 1_000): AsyncGenerator<TopicActivity[]> {
    return this.byActivity(this.keys.topicIndexAll(), 'newest', Infinity, chunk);
  }

  /** Up to `count` ids of the topic's history, the latest first (by time, then id). */
  async newestIds(topic: string, count: number): Promise<string[]> {
    const key = this.keys.topicMessages(topic);
    return this.redis.zrange(key, '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, count);
  }

  /** The oldest `count` ids of the topic's history (by time, then id). */
  async oldestIds(topic: string, count: number): Promise<string[]> {
    return this.redis.zrange(this.keys.topicMessages(topic), '0', String(count - 1));
  }

  /** How many messages each topic's history holds, in the order given. */
  async historySizes(topics: string[]): Promise<number[]> {
    // Separate commands: on Cluster each topic has a slot of its own.
    return Promise.all(topics.map((topic) => this.redis.zcard(this.keys.topicMessages(topic))));
  }

  /** How many topics the index holds. */
  async count(): Promise<number> {
    return this.redis.zcard(this.keys.topicIndexNames());
  }

  /** A topic index scored by time (`all` or `arrivals`), from `start` (a score) on, in chunks. */
  private async *byActivity(
    key: string,
    order: 'oldest' | 'newest',
    start: number,
    chunk: number,
  ): AsyncGenerator<TopicActivity[]> {
    const score = (value: number): string =>
      value === Infinity ? '+inf' : value === -Infinity ? '-inf' : String(value);
    let from = start;
    // Names already given at the score `from`, which the next read starts at again.
    let atFrom = new Set<string>();
    for (;;) {
      const want = atFrom.size + chunk;
      const reply =
        order === 'oldest'
          ? await this.redis.zrange(
              key,
              score(from),
              '+inf',
              'BYSCORE',
              'LIMIT',
              0,
              want,
              'WITHSCORES',
            )
          : await this.redis.zrange(
              key,
              score(from),
              '-inf',
              'BYSCORE',
              'REV',
              'LIMIT',
              0,
              want,
              'WITHSCORES',
            );
      const entries: TopicActivity[] = [];
      for (let i = 0; i + 1 < reply.length; i += 2) {
        entries.push({ name: reply[i], score: Number(reply[i + 1]) });
      }
      const fresh = entries.filter((entry) => entry.score !== from || !atFrom.has(entry.name));
      if (fresh.length > 0) yield fresh;
      if (entries.length < want) return;
      const last = entries[entries.length - 1].score;
      if (last !== from) {
        from = last;
        atFrom = new Set();
      }
      for (const entry of entries) if (entry.score === from) atFrom.add(entry.name);
    }
  }

  /** Up to `count` topic names in name order, within `range`. */
  async names(range: NameRange, count: number): Promise<string[]> {
    let from: string;
    if (range.after !== null && range.after >= range.prefix) from = `(${range.after}`;
    else from = range.prefix === '' ? '-' : `[${range.prefix}`;
    const to = range.prefix === '' ? '+' : `(${range.prefix}${NAME_END}`;
    return this.redis.zrange(this.keys.topicIndexNames(), from, to, 'BYLEX', 'LIMIT', 0, count);
  }

  /** The records of indexed topics, in the order given. */
  async records(names: string[]): Promise<TopicRecord[]> {
    if (names.length === 0) return [];
    const [scores, metadata] = await Promise.all([
      this.redis.zmscore(this.keys.topicIndexAll(), ...names),
      Promise.all(
        names.map((name) =>
          this.redis.hmget(this.keys.topicMetadata(name), 'createdAt', 'messageCount'),
        ),
      ),
    ]);
    return names.map((name, index) => {
      const lastMessageAt = Number(scores[index] ?? 0);
      const [createdAt, messageCount] = metadata[index];
      return {
        name,
        createdAt: createdAt === null ? lastMessageAt : Number(createdAt),
        lastMessageAt,
        messageCount: messageCount === null ? 0 : Number(messageCount),
      };
    });
  }

  /**
   * Forgets a topic whose history has emptied (cleanup removed its last expired message): its
   * metadata and its two index entries, so that the index, which catch-ups and listings read,
   * holds the topics that have messages. A send that stores a message meanwhile may have
   * written the index before the removal: the history is looked at again after it, and a
   * message there puts the topic back at its latest message's time. Returns whether the topic
   * was forgotten.
   */
  async forgetIfEmpty(topic: string): Promise<boolean> {
    const messagesKey = this.keys.topicMessages(topic);
    const forgotten = await this.redis.forgetEmptyTopic(
      messagesKey,
      this.keys.topicMetadata(topic),
      this.keys.topicArrivals(topic),
    );
    if (forgotten === 0) return false;
    const results = await this.redis
      .multi()
      .zrem(this.keys.topicIndexAll(), topic)
      .zrem(this.keys.topicIndexNames(), topic)
      .zrem(this.keys.topicIndexArrivals(), topic)
      .exec();
    const error = results?.find(([failure]) => failure !== null)?.[0];
    if (error) throw error;
    const [, latest] = await this.redis.zrange(messagesKey, '-1', '-1', 'WITHSCORES');
    if (latest === undefined) return true;
    await this.index(topic, Number(latest));
    return false;
  }

  /**
   * `ZADD GT` keeps the latest time when sends from several instances arrive out of order;
   * the name index is `NX`, its score is always 0. The arrivals index takes this instance's
   * time, not the message's: a message stored late (an older id) still marks its topic as
   * written now, for a reading of what was stored since (arrivalsAfter). One transaction: a
   * listed name always has its times.
   */
  private async index(topic: string, createdAt: number): Promise<void> {
    const results = await this.redis
      .multi()
      .zadd(this.keys.topicIndexAll(), 'GT', createdAt, topic)
      .zadd(this.keys.topicIndexNames(), 'NX', 0, topic)
      .zadd(this.keys.topicIndexArrivals(), 'GT', Date.now(), topic)
      .exec();
    const error = results?.find(([failure]) => failure !== null)?.[0];
    if (error) throw error;
  }

  messagesKey(topic: string): string {
    return this.keys.topicMessages(topic);
  }

  feedChannel(): string {
    return this.keys.topicFeed();
  }
}
