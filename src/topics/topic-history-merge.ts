/** A page of one topic's message ids after a cursor, oldest first. */
export interface TopicIdPage {
  ids: string[];
  hasNextPage: boolean;
}

/** Reads up to `count` ids of `topic` newer than `after` ('0': from the start). */
export type TopicIdPager = (topic: string, after: string, count: number) => Promise<TopicIdPage>;

export interface MergeBounds {
  /** Ids held at once across every topic; each topic holds at least `minPerTopic`. */
  idBudget: number;
  minPerTopic: number;
  maxPerTopic: number;
  /** First pages read at once when the merge opens. */
  concurrency: number;
}

export const DEFAULT_MERGE_BOUNDS: MergeBounds = {
  idBudget: 20_000,
  minPerTopic: 2,
  maxPerTopic: 100,
  concurrency: 32,
};

/** One topic's place in the merge: the ids read ahead and where its next page starts. */
interface Head {
  topic: string;
  ids: string[];
  at: number;
  more: boolean;
}

/**
 * The message ids of several topics after one cursor, in id order (ids are ULIDs, so this is
 * time order across topics). Each topic is read a page at a time and only when the merge
 * reaches the end of what it holds of it, so the ids held at once stay near `idBudget`
 * however long the histories are: a topic's page is the budget shared among the topics, within
 * `minPerTopic` and `maxPerTopic`. A message belongs to one topic, so ids never repeat.
 */
export class TopicHistoryMerge {
  private readonly heads: Head[] = [];

  private constructor(
    private readonly pageIds: TopicIdPager,
    private readonly perTopic: number,
  ) {}

  /** Reads the first page of every topic, `concurrency` at a time. */
  static async open(
    topics: readonly string[],
    after: string,
    pageIds: TopicIdPager,
    bounds: MergeBounds = DEFAULT_MERGE_BOUNDS,
  ): Promise<TopicHistoryMerge> {
    const perTopic = Math.min(
      bounds.maxPerTopic,
      Math.max(bounds.minPerTopic, Math.floor(bounds.idBudget / Math.max(1, topics.length))),
    );
    const merge = new TopicHistoryMerge(pageIds, perTopic);
    for (let start = 0; start < topics.length; start += bounds.concurrency) {
      const pages = await Promise.all(
        topics
          .slice(start, start + bounds.concurrency)
          .map(async (topic) => ({ topic, page: await pageIds(topic, after, perTopic) })),
      );
      for (const { topic, page } of pages) {
        merge.add({ topic, ids: page.ids, at: 0, more: page.hasNextPage });
      }
    }
    return merge;
  }

  /** Topics with ids left to give. */
  get topics(): number {
    return this.heads.length;
  }

  /** Ids read from Redis and not given out yet. */
  get held(): number {
    return this.heads.reduce((sum, head) => sum + head.ids.length - head.at, 0);
  }

  /** The next ids, up to `max`, in id order; empty once every topic is read to its end. */
  async next(max: number): Promise<string[]> {
    const out: string[] = [];
    while (out.length < max && this.heads.length > 0) {
      const head = this.heads[0];
      const id = head.ids[head.at];
      out.push(id);
      head.at += 1;
      if (head.at < head.ids.length) {
        this.siftDown(0);
        continue;
      }
      this.removeTop();
      if (head.more) {
        const page = await this.pageIds(head.topic, id, this.perTopic);
        this.add({ topic: head.topic, ids: page.ids, at: 0, more: page.hasNextPage });
      }
    }
    return out;
  }

  // A binary min-heap of the heads by their next id: each id given out costs log(topics).

  private add(head: Head): void {
    if (head.ids.length === 0) return;
    this.heads.push(head);
    let index = this.heads.length - 1;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (this.key(parent) <= this.key(index)) break;
      this.swap(parent, index);
      index = parent;
    }
  }

  private removeTop(): void {
    const last = this.heads.pop() as Head;
    if (this.heads.length === 0) return;
    this.heads[0] = last;
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < this.heads.length && this.key(left) < this.key(smallest)) smallest = left;
      if (right < this.heads.length && this.key(right) < this.key(smallest)) smallest = right;
      if (smallest === index) return;
      this.swap(index, smallest);
      index = smallest;
    }
  }

  private key(index: number): string {
    const head = this.heads[index];
    return head.ids[head.at];
  }

  private swap(a: number, b: number): void {
    [this.heads[a], this.heads[b]] = [this.heads[b], this.heads[a]];
  }
}

/** Two lists, each in id order, as one in id order; an id in both is kept once (from `a`). */
export function mergeById<T extends { id: string }>(a: readonly T[], b: readonly T[]): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j === b.length || (i < a.length && a[i].id <= b[j].id)) {
      if (j < b.length && a[i].id === b[j].id) j += 1;
      out.push(a[i]);
      i += 1;
    } else {
      out.push(b[j]);
      j += 1;
    }
  }
  return out;
}
