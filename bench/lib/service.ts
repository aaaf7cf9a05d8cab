import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { ADMIN_HEADER, BENCH_ADMIN_TOKEN } from './admin';
import { SERVICE_MAIN } from './build';
import { REPO_DIR, terminate, track } from './children';
import { freePort } from './redis-server';
import { sleep } from './stats';

/** Every key the service writes starts with this (REDIS_KEY_PREFIX). */
export const KEY_PREFIX = 'bench:';

/**
 * The environment the service runs with in every scenario (PORT and REDIS_URL are added):
 * as in production (NODE_ENV=production: graphql-js without its development checks,
 * introspection off), with auth on and every client the admin, which is never rate limited;
 * RATE_LIMIT_PER_MINUTE=0 turns the limiter off besides. SUBSCRIPTIONS_PER_SOCKET is the
 * default, set so that the memory scenario's 100 subscriptions per socket are explicit.
 */
export const SERVICE_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'production',
  AUTH_ENABLED: 'true',
  ADMIN_TOKEN: BENCH_ADMIN_TOKEN,
  LOG_LEVEL: 'warn',
  REDIS_KEY_PREFIX: KEY_PREFIX,
  RATE_LIMIT_PER_MINUTE: '0',
  // One sender writes to one mailbox many thousand times a second here; scenario j measures
  // the guards.
  PAIR_RATE_LIMIT_PER_MINUTE: '0',
  DUPLICATE_WINDOW: '0',
  // Scenario h answers one question many times.
  ROUTER_MAX_VISITS: '0',
  SUBSCRIPTIONS_PER_SOCKET: '100',
  SHUTDOWN_GRACE_PERIOD: '5',
  // One process, where npm start and the container run one per core (WORKERS=auto);
  // BENCH_WORKERS sets it for every scenario (docs/performance.md has runs with two).
  WORKERS: process.env.BENCH_WORKERS ?? '1',
};

/** The resident set size of a process, from /proc/<pid>/status (VmRSS), in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kilobytes = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
  if (kilobytes === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kilobytes) * 1024;
}

/** Extra Node.js arguments for the service under test, from BENCH_SERVICE_NODE_ARGS. */
function nodeArguments(): string[] {
  return (process.env.BENCH_SERVICE_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

/**
 * Appends everything the service writes (its log, and what BENCH_SERVICE_NODE_ARGS such as
 * `--trace-gc-nvp` print) to the file BENCH_SERVICE_OUTPUT names, when it names one.
 */
function copyOutput(child: ChildProcess): void {
  const file = process.env.BENCH_SERVICE_OUTPUT;
  if (!file) return;
  const output = createWriteStream(file, { flags: 'a' });
  child.stdout?.pipe(output);
  child.stderr?.pipe(output);
}

/** The built service (the bench build of dist/main.js) in its own process, against the bench Redis. */
export class ServiceProcess {
  private readonly lines: string[] = [];
  private readyAt = 0;

  private constructor(
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    const keep = (chunk: Buffer): void => {
      for (const line of chunk.toString().split('\n')) {
        // eslint-disable-next-line no-control-regex -- strips the logger's colour codes
        if (line.trim()) this.lines.push(line.replace(/\x1b\[[0-9;]*m/g, ''));
      }
      if (this.lines.length > 2_000) this.lines.splice(0, this.lines.length - 2_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static async start(
    redisUrl: string,
    extra: Record<string, string> = {},
  ): Promise<ServiceProcess> {
    const port = await freePort();
    const child = track(
      // For profiling the service under a scenario: BENCH_SERVICE_NODE_ARGS='--cpu-prof'.
      spawn(process.execPath, [...nodeArguments(), SERVICE_MAIN], {
        cwd: REPO_DIR,
        env: {
          PATH: process.env.PATH ?? '',
          ...SERVICE_ENV,
          ...extra,
          REDIS_URL: redisUrl,
          PORT: String(port),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    copyOutput(child);
    const service = new ServiceProcess(port, child);
    await service.waitReady();
    return service;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/graphql`;
  }

  rssBytes(): number {
    return rssBytes(this.pid);
  }

  /**
   * The service's own view of its memory, from GET /metrics (prom-client's default metrics):
   * heap used and total, external, RSS.
   */
  async memoryMetrics(): Promise<Record<string, number>> {
    const response = await fetch(`${this.baseUrl}/metrics`, { headers: ADMIN_HEADER });
    const text = await response.text();
    const wanted =
      /^mailbox_(nodejs_heap_size_used_bytes|nodejs_heap_size_total_bytes|nodejs_external_memory_bytes|process_resident_memory_bytes) (\S+)$/gm;
    const metrics: Record<string, number> = {};
    for (const [, name, value] of text.matchAll(wanted)) metrics[name] = Number(value);
    return metrics;
  }

  /** Warnings and errors the service logged since it became ready. */
  problemsSinceReady(): string[] {
    return this.lines.slice(this.readyAt).filter((line) => /\b(WARN|ERROR|FATAL)\b/.test(line));
  }

  private async waitReady(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) {
        throw new Error(`service exited with ${this.child.exitCode}: ${this.lines.join('\n')}`);
      }
      try {
        const response = await fetch(`${this.baseUrl}/health/ready`);
        if (response.status === 200) {
          this.readyAt = this.lines.length;
          return;
        }
      } catch {
        // not listening yet
      }
      await sleep(50);
    }
    await terminate(this.child, 0);
    throw new Error(`service did not become ready in 30 s: ${this.lines.join('\n')}`);
  }

  async stop(): Promise<void> {
    await terminate(this.child);
  }
}
