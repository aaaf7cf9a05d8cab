import cluster from 'node:cluster';
import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { Clock } from '../common/clock';
import { GraphqlWsServer } from '../graphql/graphql-ws.server';
import { RedisCircuitBreaker } from '../redis/redis-circuit-breaker';
import { RedisPubSubService } from '../redis/redis-pubsub.service';
import { MessageRouterService } from '../routing/message-router.service';
import { SafetyRepository } from '../safety/safety.repository';
import { JobRunner } from '../scheduling/job-runner.service';
import { ClusterMetricsClient } from '../workers/cluster-metrics';
import { isMetricsCollect, type MetricsPart } from '../workers/workers';
import type { RouterStatistics } from './router-statistics.model';
import { RouterStatisticsService } from './router-statistics.service';

/** Metric names: the seed's counters with Prometheus conventions, prefixed `mailbox_`. */
const COUNTER_METRICS = {
  messagesRouted: ['mailbox_messages_routed_total', 'Messages routed (all instances).'],
  messagesDelivered: [
    'mailbox_messages_delivered_total',
    'Deliveries confirmed by their recipient (all instances).',
  ],
  messagesFailed: [
    'mailbox_messages_failed_total',
    'Deliveries that exhausted their attempts (all instances).',
  ],
  messagesRetried: ['mailbox_messages_retried_total', 'Delivery retries pushed (all instances).'],
  routingErrors: [
    'mailbox_routing_errors_total',
    'Sends that failed for reasons other than input (all instances).',
  ],
  validationErrors: [
    'mailbox_validation_errors_total',
    'Sends refused for bad input (all instances).',
  ],
  tokensSent: [
    'mailbox_tokens_sent_total',
    'Tokens (estimated, o200k) of the messages the safety guards admitted (all instances).',
  ],
  guardRefusals: [
    'mailbox_guard_refusals_total',
    'Sends refused by a safety guard: paused, loop, storm, contact policy, budget (all instances).',
  ],
} as const;

/**
 * How long a scrape waits for what it reads from Redis (the statistics, the paused counts).
 * Well inside the supervisor's wait for each worker (COLLECT_WAIT_MS, 5 s), which is the
 * default REDIS_COMMAND_TIMEOUT too: a Redis that hangs must cost a scrape its Redis-derived
 * values, never the whole answer with the gauges that say Redis is in trouble.
 */
const REDIS_READ_WAIT_MS = 1_500;

/**
 * /metrics: the router statistics (shared by all instances, so any instance reports the
 * service's totals) and this instance's own gauges and Node.js defaults.
 *
 * Under the workers' supervisor (WORKERS > 1) an instance is several processes, and a scrape
 * reaches any one of them: it asks the supervisor, which collects every worker's registry and
 * combines each metric by its `aggregator` (prom-client's cluster aggregation): `first` for
 * what every worker reads from Redis alike, `sum` for what each worker holds, `max` or `min`
 * for flags.
 */
@Injectable()
export class MetricsService {
  private readonly registry = new Registry();
  private readonly workers = cluster.isWorker ? new ClusterMetricsClient() : null;

  constructor(
    private readonly statistics: RouterStatisticsService,
    private readonly pubsub: RedisPubSubService,
    private readonly ws: GraphqlWsServer,
    private readonly jobs: JobRunner,
    breaker: RedisCircuitBreaker,
    router: MessageRouterService,
    safety: SafetyRepository,
    clock: Clock,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'mailbox_' });
    // Under the supervisor: this worker's own metrics, to each collection that asks.
    if (cluster.isWorker) {
      process.on('message', (message) => {
        if (!isMetricsCollect(message)) return;
        void this.registry.getMetricsAsJSON().then(
          (metrics) => {
            const part: MetricsPart = { type: 'mailbox:metrics-part', id: message.id, metrics };
            process.send?.(part);
          },
          () => undefined,
        );
      });
    }
    /**
     * A read from Redis for a scrape: null at once while the circuit is open (the read would
     * only wait for its command timeout), and null when it has not answered within
     * REDIS_READ_WAIT_MS or failed. The gauges it feeds then keep their last values.
     */
    const fromRedis = <T>(read: () => Promise<T>): Promise<T | null> => {
      if (!breaker.closed) return Promise.resolve(null);
      return new Promise<T | null>((resolve) => {
        const timer = setTimeout(() => resolve(null), REDIS_READ_WAIT_MS);
        timer.unref();
        void read()
          .catch(() => null)
          .then((value) => {
            clearTimeout(timer);
            resolve(value);
          });
      });
    };
    // Every statistics gauge of one scrape reads the same snapshot: one Redis read per scrape.
    let snapshot: { at: number; value: Promise<RouterStatistics | null> } | null = null;
    const read = (): Promise<RouterStatistics | null> => {
      const now = clock.now();
      if (!snapshot || now - snapshot.at > 500) {
        snapshot = { at: now, value: fromRedis(() => this.statistics.read()) };
      }
      return snapshot.value;
    };
    const fromStatistics = (
      name: string,
      help: string,
      pick: (stats: RouterStatistics) => number,
    ): void => {
      new Gauge({
        name,
        help,
        registers: [this.registry],
        aggregator: 'first',
        async collect() {
          const stats = await read();
          if (stats) this.set(pick(stats));
        },
      });
    };
    for (const [key, [name, help]] of Object.entries(COUNTER_METRICS)) {
      // Counters in Prometheus' sense: the service-wide totals only grow, so each scrape adds
      // what they grew by since the last one.
      let reported = 0;
      new Counter({
        name,
        help,
        registers: [this.registry],
        // Every worker reads the same totals; one that could not read this time has less.
        aggregator: 'max',
        async collect() {
          const stats = await read();
          const total = stats ? stats[key as keyof typeof COUNTER_METRICS] : reported;
          if (total > reported) {
            this.inc(total - reported);
            reported = total;
          }
        },
      });
    }
    fromStatistics(
      'mailbox_active_confirmations',
      'Deliveries awaiting confirmation.',
      (stats) => stats.activeConfirmations,
    );
    fromStatistics(
      'mailbox_pending_deliveries',
      'Entries in the retry schedules.',
      (stats) => stats.pendingDeliveries,
    );
    new Gauge({
      name: 'mailbox_router_statistics_up',
      help: '1 when the statistics could be read from Redis for this scrape.',
      registers: [this.registry],
      aggregator: 'min',
      async collect() {
        this.set((await read()) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'mailbox_redis_circuit_open',
      help: '1 while the Redis circuit breaker is open (or half-open) on this instance (any worker).',
      registers: [this.registry],
      aggregator: 'max',
      collect() {
        this.set(breaker.closed ? 0 : 1);
      },
    });
    new Gauge({
      name: 'mailbox_redis_circuit_opened',
      help: 'Times the Redis circuit opened since this instance started.',
      registers: [this.registry],
      aggregator: 'sum',
      collect() {
        this.set(breaker.opened);
      },
    });
    new Gauge({
      name: 'mailbox_outage_queue_size',
      help: 'Sends accepted during a Redis outage and not yet in Redis, on this instance.',
      registers: [this.registry],
      aggregator: 'sum',
      collect() {
        this.set(router.queuedLocally);
      },
    });
    // Both paused gauges of one scrape read the same snapshot.
    let paused: {
      at: number;
      value: Promise<{ mailboxes: number; threads: number } | null>;
    } | null = null;
    const readPaused = (): Promise<{ mailboxes: number; threads: number } | null> => {
      const now = clock.now();
      if (!paused || now - paused.at > 500) {
        paused = { at: now, value: fromRedis(() => safety.pausedCounts()) };
      }
      return paused.value;
    };
    new Gauge({
      name: 'mailbox_paused_mailboxes',
      help: 'Mailboxes paused by the operator (pauseMailbox), over every instance.',
      registers: [this.registry],
      aggregator: 'first',
      async collect() {
        const counts = await readPaused();
        if (counts) this.set(counts.mailboxes);
      },
    });
    new Gauge({
      name: 'mailbox_paused_threads',
      help: 'Threads paused by the operator (pauseThread), over every instance.',
      registers: [this.registry],
      aggregator: 'first',
      async collect() {
        const counts = await readPaused();
        if (counts) this.set(counts.threads);
      },
    });
    new Gauge({
      name: 'mailbox_websocket_connections',
      help: 'Open graphql-ws connections on this instance.',
      registers: [this.registry],
      aggregator: 'sum',
      collect() {
        this.set(ws.connections);
      },
    });
    new Gauge({
      name: 'mailbox_subscribed_channels',
      help: 'Redis channels this instance subscribes to.',
      registers: [this.registry],
      aggregator: 'sum',
      collect() {
        this.set(pubsub.channelCount);
      },
    });
    new Gauge({
      name: 'mailbox_background_job_up',
      help: '1 while the background job is alive on this instance (every worker).',
      labelNames: ['job'],
      registers: [this.registry],
      aggregator: 'min',
      collect() {
        for (const report of jobs.reports()) this.set({ job: report.name }, report.alive ? 1 : 0);
      },
    });
  }

  async render(): Promise<string> {
    return this.workers ? this.workers.text() : this.registry.metrics();
  }
}
