import { isMetricsAnswer, type MetricsRequest } from './workers';

/** How long a worker waits for the supervisor's metrics (prom-client waits 5 s per worker). */
const ANSWER_WAIT_MS = 7_000;

interface Pending {
  resolve: (text: string) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * A worker's side of /metrics under the supervisor: it asks the supervisor, which collects
 * the registry of every worker that listens (see Supervisor) and answers with the whole
 * process's metrics.
 */
export class ClusterMetricsClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private listening = false;

  text(): Promise<string> {
    this.listen();
    const id = this.nextId++;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the workers' metrics did not arrive within ${ANSWER_WAIT_MS} ms`));
      }, ANSWER_WAIT_MS);
      this.pending.set(id, { resolve, reject, timer });
      const request: MetricsRequest = { type: 'mailbox:metrics-request', id };
      process.send?.(request);
    });
  }

  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    process.on('message', (message) => {
      if (!isMetricsAnswer(message)) return;
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      clearTimeout(waiting.timer);
      if (message.text !== undefined) waiting.resolve(message.text);
      else waiting.reject(new Error(message.error ?? 'no metrics'));
    });
  }
}
