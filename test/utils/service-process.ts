import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { freePort } from './redis-server';
import { GUARDS_OFF } from './guards';

const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');

export interface ServiceProcessOptions {
  /**
   * The working directory, under which the default outage spool (.data/spool) lies: give the
   * same one to a restarted instance that must find its spool. Default: a temporary
   * directory of this instance's own, removed when it stops, so that tests never write into
   * the repository and instances never share a spool.
   */
  cwd?: string;
}

/**
 * The built service (dist/main.js) as a separate process, for tests that need several
 * instances or that kill one. `npm test` builds first (pretest).
 */
export class ServiceProcess {
  private child: ChildProcess | null = null;
  readonly output: string[] = [];
  /** The working directory, when this instance made it (and removes it). */
  private readonly ownDirectory: string | null;
  readonly cwd: string;

  private constructor(
    readonly port: number,
    private readonly environment: Record<string, string>,
    options: ServiceProcessOptions,
  ) {
    this.ownDirectory = options.cwd ? null : mkdtempSync(join(tmpdir(), 'mailbox-service-'));
    this.cwd = options.cwd ?? (this.ownDirectory as string);
  }

  static async start(
    environment: Record<string, string>,
    options: ServiceProcessOptions = {},
  ): Promise<ServiceProcess> {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run npm run build first`);
    const service = new ServiceProcess(await freePort(), environment, options);
    await service.start();
    return service;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/graphql`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    mkdirSync(this.cwd, { recursive: true });
    const child = spawn(process.execPath, [MAIN], {
      cwd: this.cwd,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        AUTH_ENABLED: 'false',
        ...GUARDS_OFF,
        LOG_LEVEL: 'warn',
        ...this.environment,
        PORT: String(this.port),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer): void => {
      this.output.push(chunk.toString());
      if (this.output.length > 500) this.output.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
    // A process starts in seconds alone; beside the whole suite on two cores, it may take
    // several times that.
    const deadline = Date.now() + 40_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) {
        throw new Error(`service exited with ${child.exitCode}: ${this.output.join('')}`);
      }
      try {
        const response = await fetch(`${this.baseUrl}/health/ready`);
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await this.kill();
    throw new Error(`service did not become ready: ${this.output.join('')}`);
  }

  /**
   * Sends a signal and waits for the exit; resolves with the exit code or signal. The working
   * directory this instance made goes with it (and its spool: see ServiceProcessOptions.cwd).
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | string | null> {
    const result = await this.signal(signal);
    if (this.ownDirectory) rmSync(this.ownDirectory, { recursive: true, force: true });
    return result;
  }

  private async signal(signal: NodeJS.Signals): Promise<number | string | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null)
      return child?.exitCode ?? null;
    const exited = new Promise<number | string | null>((resolve) =>
      child.once('exit', (code, signalCode) => resolve(code ?? signalCode)),
    );
    child.kill(signal);
    const result = await exited;
    this.child = null;
    return result;
  }

  async kill(): Promise<void> {
    await this.stop('SIGKILL');
  }
}

/**
 * Runs the built service (dist/main.js) to its exit with exactly `environment` (and PATH):
 * for start-up failures. Resolves with the exit code and everything it printed.
 */
export function runServiceToExit(
  environment: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH ?? '', ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/**
 * Runs the built service to its exit on a port that something else already listens on
 * (all interfaces), with `environment` besides PORT. Resolves with the port too.
 */
export async function runServiceOnBusyPort(
  environment: Record<string, string>,
): Promise<{ code: number | null; output: string; port: number }> {
  const port = await freePort();
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(port, '0.0.0.0', resolve));
  try {
    return { ...(await runServiceToExit({ ...environment, PORT: String(port) })), port };
  } finally {
    await new Promise((resolve) => blocker.close(resolve));
  }
}
