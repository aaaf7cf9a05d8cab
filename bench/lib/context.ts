import { ChildHandle, type ChildMessage } from './children';
import type { RedisServer } from './redis-server';
import type { ScenarioOutcome } from './report';
import { ServiceProcess } from './service';

export interface BenchOptions {
  /** Scenario ids to run (null: all). */
  only: string[] | null;
  /** Length of each measured phase. */
  durationMs: number;
  /** Length of the warm-up before each measured phase. */
  warmupMs: number;
  /** Exit non-zero when a target is missed, not only when a check fails. */
  strict: boolean;
}

/** The baseline server (bench/servers/bare-graphql.ts) in its own process. */
export interface BareServer {
  pid: number;
  port: number;
  baseUrl: string;
  wsUrl: string;
  stop(): Promise<void>;
}

export class BenchContext {
  /** Outcomes of the scenarios that already ran in this run, by id. */
  readonly earlier = new Map<string, ScenarioOutcome>();

  constructor(
    readonly options: BenchOptions,
    readonly redis: RedisServer,
    readonly log: (line: string) => void,
  ) {}

  /** The service under test, fresh, against the bench Redis, with `extra` environment. */
  startService(extra: Record<string, string> = {}): Promise<ServiceProcess> {
    return ServiceProcess.start(this.redis.url, extra);
  }

  /** Bare Apollo and graphql-ws, on Express (a user's default) or on Fastify (the service's). */
  startBareServer(platform: 'express' | 'fastify' = 'express'): Promise<BareServer> {
    return startServerChild('servers/bare-graphql.ts', { platform });
  }

  /** The relay through the Redis at `redisUrl` (servers/redis-relay.ts), w3's floor. */
  startRelay(redisUrl: string): Promise<BareServer> {
    return startServerChild('servers/redis-relay.ts', { redisUrl });
  }
}

/** A baseline server in its own process, once it has said it is ready. */
async function startServerChild(file: string, payload: unknown): Promise<BareServer> {
  const child = ChildHandle.start(file, payload, { NODE_ENV: 'production' });
  const ready = await child.next<ChildMessage & { port: number }>('ready', 30_000);
  return {
    pid: child.pid,
    port: ready.port,
    baseUrl: `http://127.0.0.1:${ready.port}`,
    wsUrl: `ws://127.0.0.1:${ready.port}/graphql`,
    stop: () => child.stop(),
  };
}

export interface Scenario {
  /** One letter, as --only takes it. */
  id: string;
  /** A word, which --only takes too. */
  name: string;
  run(context: BenchContext): Promise<ScenarioOutcome>;
}
