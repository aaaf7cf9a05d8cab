import cluster, { type Worker } from 'node:cluster';
import { ConfigService } from '@nestjs/config';
import pino, { type Logger } from 'pino';
import { AggregatorRegistry } from 'prom-client';
import { generateAdminToken } from '../auth/tokens';
import { AppConfigService } from '../config/app-config.service';
import type { EnvironmentVariables } from '../config/environment';
import { pinoOptions } from '../logging/pino-options';
import {
  isMetricsPart,
  isMetricsRequest,
  WORKER_ENVIRONMENT,
  type MetricsAnswer,
  type MetricsCollect,
} from './workers';

/** A worker that dies this many times within CRASH_WINDOW_MS stops the service (exit 1). */
const MAX_CRASHES = 5;
const CRASH_WINDOW_MS = 60_000;
/** Past the workers' own grace period, how long the supervisor waits before killing them. */
const GRACE_MARGIN_MS = 2_000;
/**
 * How long a collection of the workers' metrics waits for each worker. One that has not
 * answered by then (it is dying, or too busy) is left out of that scrape.
 */
const COLLECT_WAIT_MS = 5_000;

/**
 * The primary process of WORKERS > 1 (Node's cluster module): it forks the workers, each a
 * whole instance of the service, and shares the port among them (the primary accepts each
 * connection and hands it to a worker in turn). The workers share everything else through
 * Redis, as separate instances do. The supervisor serves nothing itself. It:
 *
 * - gives every worker the same admin token when it generates one (none configured);
 * - forks a new worker when one dies, and gives up (exit 1) when workers die faster than
 *   MAX_CRASHES a minute, or when one of the first workers exits before it ever listened (a
 *   busy port: the worker has said why); a first worker killed by a signal while it starts,
 *   or a worker started in place of a dead one that dies before it listens, is one more
 *   death, and is replaced in turn;
 * - passes SIGTERM and SIGINT on, and exits once every worker has, with the worst exit code;
 * - answers a worker's request for every worker's metrics, so that /metrics, whichever worker
 *   a scrape reaches, reports the whole process: it asks each worker that listens (one still
 *   starting has no metrics to give, and is not waited for), and combines their answers
 *   with prom-client's aggregation (each metric by its `aggregator`).
 */
export class Supervisor {
  private readonly logger: Logger;
  private readonly environment: Record<string, string> = {};
  /** Collections of the workers' metrics under way, by id: each takes the parts it waits for. */
  private readonly collections = new Map<number, (worker: Worker, metrics: object[]) => void>();
  private nextCollection = 1;
  private readonly live = new Set<Worker>();
  private readonly listened = new WeakSet<Worker>();
  private crashes: number[] = [];
  private stopping = false;
  private stopSignal: NodeJS.Signals | null = null;
  /** A first worker exited before it listened: the others are ending, and none is started again. */
  private failing = false;
  private exitCode = 0;

  constructor(
    private readonly count: number,
    private readonly variables: EnvironmentVariables,
  ) {
    const config = new AppConfigService(new ConfigService(variables));
    this.logger = pino(pinoOptions(config.logging)).child({ context: 'Workers' });
    if (variables.AUTH_ENABLED && !variables.ADMIN_TOKEN) {
      // One token for every worker; worker 1 shows it in the start block.
      this.environment.ADMIN_TOKEN = generateAdminToken();
      this.environment[WORKER_ENVIRONMENT.generatedAdminToken] = '1';
    }
  }

  start(): void {
    cluster.on('listening', (worker) => {
      this.listened.add(worker);
      if (this.failing) worker.process.kill('SIGTERM');
    });
    cluster.on('exit', (worker, code, signal) => this.exited(worker, code, signal));
    cluster.on('message', (worker, message) => {
      if (isMetricsRequest(message)) void this.answerMetrics(worker, message.id);
      else if (isMetricsPart(message)) this.collections.get(message.id)?.(worker, message.metrics);
    });
    for (const signal of ['SIGTERM', 'SIGINT'] as const)
      process.on(signal, () => this.stop(signal));
    for (let index = 0; index < this.count; index += 1) this.fork();
  }

  private fork(replacement = false): void {
    this.live.add(
      cluster.fork(
        replacement
          ? { ...this.environment, [WORKER_ENVIRONMENT.replacement]: '1' }
          : this.environment,
      ),
    );
  }

  /** Cluster numbers workers from 1 in fork order: the first `count` are the first workers. */
  private isReplacement(worker: Worker): boolean {
    return worker.id > this.count;
  }

  private exited(worker: Worker, code: number | null, signal: string | null): void {
    this.live.delete(worker);
    // A worker that died and was replaced does not count against the exit code, nor does
    // one that was still starting when the stop signal came and ended by that signal.
    const stoppedBySignal = this.stopping && signal === this.stopSignal;
    const status = code ?? (signal && !stoppedBySignal ? 1 : 0);
    // A first worker that ended itself before it listened met a start-up failure (a busy port,
    // Redis settings) that every worker meets; one killed by a signal while it started, or a
    // replacement, crashed like any worker.
    const failedStart =
      !this.listened.has(worker) && !this.isReplacement(worker) && signal === null;
    if (this.stopping || this.failing || failedStart)
      this.exitCode = Math.max(this.exitCode, status);
    if (this.stopping) {
      if (this.live.size === 0) process.exit(this.exitCode);
      return;
    }
    if (failedStart) {
      // It has said why (a busy port, Redis settings), and the others meet the same: they are
      // left to end on their own, so that the reason is said once; one that did listen is
      // stopped.
      this.failing = true;
      this.exitCode = Math.max(this.exitCode, 1);
      for (const other of this.live) if (this.listened.has(other)) other.process.kill('SIGTERM');
      if (this.live.size === 0) process.exit(this.exitCode);
      return;
    }
    if (this.failing) {
      if (this.live.size === 0) process.exit(this.exitCode);
      return;
    }
    const now = Date.now();
    this.crashes = [...this.crashes.filter((at) => now - at < CRASH_WINDOW_MS), now];
    if (this.crashes.length > MAX_CRASHES) {
      this.logger.error(
        `${this.crashes.length} workers died within a minute: stopping the service`,
      );
      this.exitCode = 1;
      this.stop('SIGTERM');
      return;
    }
    this.logger.error(
      `worker ${worker.id} (pid ${worker.process.pid}) died (${signal ?? `exit ${code}`}): starting another`,
    );
    this.fork(true);
  }

  private stop(signal: NodeJS.Signals): void {
    if (this.stopping) return;
    this.stopping = true;
    this.stopSignal = signal;
    const graceMs = this.variables.SHUTDOWN_GRACE_PERIOD * 1000 + GRACE_MARGIN_MS;
    setTimeout(() => {
      this.logger.error('workers still running past their grace period: killing them');
      for (const worker of this.live) worker.process.kill('SIGKILL');
      process.exit(1);
    }, graceMs).unref();
    for (const worker of this.live) worker.process.kill(signal);
    if (this.live.size === 0) process.exit(this.exitCode);
  }

  private async answerMetrics(worker: Worker, id: number): Promise<void> {
    let answer: MetricsAnswer;
    try {
      answer = { type: 'mailbox:metrics-answer', id, text: await this.collectMetrics() };
    } catch (error) {
      answer = { type: 'mailbox:metrics-answer', id, error: (error as Error).message };
    }
    if (worker.isConnected()) worker.send(answer);
  }

  /** Every listening worker's metrics, aggregated; see COLLECT_WAIT_MS for one that is late. */
  private async collectMetrics(): Promise<string> {
    const workers = [...this.live].filter(
      (worker) => this.listened.has(worker) && worker.isConnected(),
    );
    const id = this.nextCollection++;
    // By worker, so that they are combined in the workers' order whatever order they came in:
    // a metric combined with `first` takes the same worker's each time.
    const parts = new Map<Worker, object[]>();
    await new Promise<void>((resolve) => {
      const waiting = new Set(workers);
      const done = (): void => {
        clearTimeout(timer);
        this.collections.delete(id);
        resolve();
      };
      const timer = setTimeout(done, COLLECT_WAIT_MS);
      this.collections.set(id, (worker, metrics) => {
        if (!waiting.delete(worker)) return;
        parts.set(worker, metrics);
        if (waiting.size === 0) done();
      });
      const request: MetricsCollect = { type: 'mailbox:metrics-collect', id };
      for (const worker of workers) worker.send(request);
      if (workers.length === 0) done();
    });
    if (parts.size === 0) throw new Error('no worker answered with its metrics');
    const inOrder = workers.flatMap((worker) => {
      const part = parts.get(worker);
      return part ? [part] : [];
    });
    return AggregatorRegistry.aggregate(inOrder).metrics();
  }
}
