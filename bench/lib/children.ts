import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CpuMeter } from './cpu';

/** A message between the runner and one of its child processes (over Node's IPC channel). */
export interface ChildMessage {
  type: string;
  [key: string]: unknown;
}

export const BENCH_DIR = join(__dirname, '..');
export const REPO_DIR = join(BENCH_DIR, '..');
const REGISTER = join(BENCH_DIR, 'register.js');

/** Every child started and not yet reaped, so that an interrupted run leaves nothing behind. */
const running = new Set<ChildProcess>();

export function killAllChildren(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** Resolves when the process has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Sends SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export async function terminate(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

/** Tracks a spawned process until it exits. */
export function track(child: ChildProcess): ChildProcess {
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/**
 * A bench/ TypeScript file running in its own Node process, talking to the runner over IPC.
 * The child's stdout goes to the runner's stderr: stdout is kept for the result table.
 */
export class ChildHandle {
  private readonly inbox: ChildMessage[] = [];
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  readonly process: ChildProcess;

  private constructor(
    readonly script: string,
    env: Record<string, string>,
  ) {
    // BENCH_CHILD_NODE_ARGS='--cpu-prof' profiles the load generators and the in-process router.
    const extra = (process.env.BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean);
    const child = spawn(
      process.execPath,
      [...extra, '--enable-source-maps', '-r', REGISTER, script],
      {
        cwd: REPO_DIR,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      },
    );
    this.process = track(child);
    child.stdout?.pipe(process.stderr);
    child.on('message', (message: ChildMessage) => {
      if (message.type === 'error') {
        this.fail(new Error(`${script}: ${String(message.message)}`));
        return;
      }
      this.inbox.push(message);
      this.notify();
    });
    // 'close' comes after the IPC channel has delivered everything the child sent.
    child.once('close', (code, signal) => {
      this.fail(new Error(`${script} exited (${signal ?? code}) before answering`));
    });
  }

  /** Starts `file` (relative to bench/) and hands it `payload` as its start message. */
  static start(file: string, payload: unknown, env: Record<string, string> = {}): ChildHandle {
    const handle = new ChildHandle(join(BENCH_DIR, file), env);
    handle.send({ type: 'start', payload });
    return handle;
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  send(message: ChildMessage): void {
    this.process.send(message);
  }

  /** The next message of `type` (messages of other types before it are dropped). */
  async next<T extends ChildMessage>(type: string, timeoutMs = 600_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.inbox.findIndex((message) => message.type === type);
      if (index >= 0) return this.inbox.splice(index, 1)[0] as T;
      if (this.failure) throw this.failure;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.script}: no "${type}" message within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** The child's final answer; the child exits after sending it. */
  async result<T>(timeoutMs?: number): Promise<T> {
    const message = await this.next<ChildMessage & { payload: T }>('result', timeoutMs);
    await exited(this.process);
    return message.payload;
  }

  /** Asks a long-running child (a server) to stop, then makes sure it has. */
  async stop(): Promise<void> {
    if (
      this.process.exitCode === null &&
      this.process.signalCode === null &&
      this.process.connected
    )
      this.send({ type: 'stop' });
    const timer = setTimeout(() => void terminate(this.process), 10_000);
    await exited(this.process);
    clearTimeout(timer);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** Starts a child, waits for its result, and returns it. */
export async function runChild<T>(
  file: string,
  payload: unknown,
  env: Record<string, string> = {},
): Promise<T> {
  const child = ChildHandle.start(file, payload, env);
  try {
    return await child.result<T>();
  } finally {
    await terminate(child.process);
  }
}

/** What a measured child run returns: its result, and the CPU the watched processes used. */
export interface Measured<T> {
  result: T;
  /** CPU milliseconds per watched process during the measured phase. */
  cpuMs: Record<string, number>;
}

/** CPU milliseconds per watched process, added over several runs. */
export function pooledCpu<T>(runs: Measured<T>[]): Record<string, number> {
  const total: Record<string, number> = {};
  for (const run of runs)
    for (const [name, ms] of Object.entries(run.cpuMs)) total[name] = (total[name] ?? 0) + ms;
  return total;
}

/**
 * Like runChild, for children that send 'measure-start' and 'measure-end' around their
 * measured phase: samples the CPU time of `watch` (name to pid; the child itself is "client")
 * at those two moments.
 */
export async function runMeasuredChild<T>(
  file: string,
  payload: unknown,
  watch: Record<string, number>,
): Promise<Measured<T>> {
  const child = ChildHandle.start(file, payload);
  try {
    const meter = new CpuMeter({ ...watch, client: child.pid });
    await child.next('measure-start');
    meter.start();
    await child.next('measure-end');
    const cpu = meter.stop();
    return { result: await child.result<T>(), cpuMs: cpu };
  } finally {
    await terminate(child.process);
  }
}
