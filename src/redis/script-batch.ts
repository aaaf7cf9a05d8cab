interface Waiting<T, R> {
  item: T;
  resolve: (answer: R) => void;
  reject: (error: unknown) => void;
}

/** A turn's calls are split into this many runs, when each still gets MIN_RUN_ITEMS. */
const RUNS_PER_TURN = 4;
const MIN_RUN_ITEMS = 16;

/**
 * Gathers the calls made in one turn of the event loop into runs of `run`, made in the turn's
 * check phase (setImmediate), once every callback of its poll phase and their promise
 * callbacks are done. A turn's poll phase reads every socket that has data, so the sends of
 * separate HTTP requests or WebSocket frames that arrived together share a run, as the sends
 * of one sendMessages batch do. Every caller gets its own item's answer; when a run fails,
 * every caller in it gets the failure. A sendMessages batch of 100 DIRECT messages thus costs
 * 4 script calls rather than 100, and a lone call waits no longer than the end of its turn.
 *
 * Why not one run for the whole turn: with a single call in flight Redis and the service
 * take turns, each idle while the other works. Up to
 * RUNS_PER_TURN runs of at least MIN_RUN_ITEMS (and at most `maxItems`) let Redis execute
 * one while the service writes the next and reads the answers of the one before.
 */
export class ScriptBatch<T, R> {
  private waiting: Waiting<T, R>[] = [];

  constructor(
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly maxItems: number,
  ) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push({ item, resolve, reject });
    });
  }

  private flush(): void {
    const all = this.waiting;
    this.waiting = [];
    const size = Math.min(
      this.maxItems,
      Math.max(MIN_RUN_ITEMS, Math.ceil(all.length / RUNS_PER_TURN)),
    );
    for (let start = 0; start < all.length; start += size) {
      const part = all.slice(start, start + size);
      const failed = (error: unknown): void => {
        for (const entry of part) entry.reject(error);
      };
      let answered: Promise<R[]>;
      try {
        answered = this.run(part.map((entry) => entry.item));
      } catch (error) {
        failed(error);
        continue;
      }
      answered.then((answers) => {
        if (answers.length !== part.length) {
          failed(new Error(`${answers.length} answers for ${part.length} calls`));
          return;
        }
        part.forEach((entry, index) => entry.resolve(answers[index]));
      }, failed);
    }
  }
}
