import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { terminate, track } from './children';
import { sleep } from './stats';

/** A free TCP port on 127.0.0.1 (free when asked; taken by whoever binds it first). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServerOptions {
  /**
   * An append-only file fsynced once a second (`appendonly yes`, `appendfsync everysec`),
   * checked once the server runs; without it, no persistence at all.
   */
  appendOnly?: boolean;
}

/**
 * A private redis-server for one bench run: its own port and temporary directory, no RDB
 * snapshots, and no AOF unless asked for.
 */
export class RedisServer {
  private constructor(
    readonly port: number,
    private readonly directory: string,
    private readonly child: ChildProcess,
    /** An admin connection for setup and checks (FLUSHALL, ZCARD, PUBSUB). */
    readonly client: Redis,
  ) {}

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const { appendOnly = false } = options;
    const port = await freePort();
    const directory = mkdtempSync(
      join(tmpdir(), appendOnly ? 'mailbox-bench-aof-' : 'mailbox-bench-redis-'),
    );
    // Also when the run is interrupted (the runner exits on SIGINT after killing its children).
    process.once('exit', () => rmSync(directory, { recursive: true, force: true }));
    const output: string[] = [];
    const child = track(
      spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          directory,
          '--save',
          '',
          ...(appendOnly
            ? ['--appendonly', 'yes', '--appendfsync', 'everysec']
            : ['--appendonly', 'no']),
          '--daemonize',
          'no',
          '--logfile',
          '',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      ),
    );
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    const spawnFailure = new Promise<never>((_, reject) =>
      child.once('error', (error) =>
        reject(new Error(`redis-server could not start (is it on PATH?): ${error.message}`)),
      ),
    );
    spawnFailure.catch(() => undefined); // observed by the race below while starting
    const client = new Redis({
      port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    client.on('error', () => undefined);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await Promise.race([client.connect(), spawnFailure]);
        await client.ping();
        break;
      } catch (error) {
        if (child.exitCode !== null || Date.now() > deadline) {
          child.kill('SIGKILL');
          rmSync(directory, { recursive: true, force: true });
          throw new Error(
            `redis-server${appendOnly ? ' (AOF)' : ''} did not start: ${(error as Error).message}\n${output.join('')}`,
            { cause: error },
          );
        }
        client.disconnect();
        await sleep(50);
      }
    }
    const redis = new RedisServer(port, directory, child, client);
    if (appendOnly) {
      const [, aof] = await client.config('GET', 'appendonly');
      const [, fsync] = await client.config('GET', 'appendfsync');
      if (aof !== 'yes' || fsync !== 'everysec') {
        await redis.stop();
        throw new Error(`redis-server ignored the AOF settings: appendonly ${aof}, ${fsync}`);
      }
    }
    return redis;
  }

  async version(): Promise<string> {
    const info = await this.client.info('server');
    return /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  }

  async stop(): Promise<void> {
    this.client.disconnect();
    await terminate(this.child);
    rmSync(this.directory, { recursive: true, force: true });
  }
}
