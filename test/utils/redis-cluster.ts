import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';

// The process plumbing shared by RedisCluster and RedisSentinelGroup (redis-sentinel.ts) lives
// here too: distinct free ports, one-shot probe commands, bounded waits and RedisNode.

/**
 * `count` distinct TCP ports that nothing listens on now: all are held open together, so two
 * nodes of one topology never get the same port.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            resolve(typeof address === 'object' && address ? address.port : 0);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(
      servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }
}

/** A raw PING over TCP: no client library, so nothing lingers after the probe. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
  });
}

/**
 * One command on a fresh RESP2 connection to 127.0.0.1:port, closed right after: for probes
 * that must not leave a client (or its reconnection timer) behind. Rejects rather than waits
 * when the node is down or does not answer within 3 s (a SIGSTOPped node).
 */
export async function nodeCommand(
  port: number,
  command: string,
  ...args: string[]
): Promise<unknown> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    protocol: 2,
    lazyConnect: true,
    enableReadyCheck: false,
    connectTimeout: 1_000,
    commandTimeout: 3_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined);
  try {
    return await client.call(command, ...args);
  } finally {
    client.disconnect();
  }
}

/** `field:value` lines of INFO or CLUSTER INFO as a record. */
export function parseInfo(text: unknown): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of String(text).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1);
  }
  return fields;
}

/**
 * Polls `probe` every 100 ms until it returns undefined (satisfied) or `timeoutMs` passes; the
 * probe returns what is still missing (or throws), and the last such reason ends the error.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<string | undefined>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let missing: string;
  for (;;) {
    try {
      const result = await probe();
      if (result === undefined) return;
      missing = result;
    } catch (error) {
      missing = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() >= deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}: ${missing}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * One redis-server (or sentinel) process on a fixed port with its own temp dir, which can be
 * stopped, killed, paused and started again with the same arguments, port and directory.
 */
export class RedisNode {
  readonly dir = mkdtempSync(join(tmpdir(), 'mailbox-redis-node-'));
  private process: ChildProcess | null = null;

  /** `args(dir)`: the redis-server arguments; they should send the log to `logFile`. */
  constructor(
    readonly port: number,
    private readonly args: (dir: string) => string[],
  ) {}

  get logFile(): string {
    return join(this.dir, 'redis.log');
  }

  get running(): boolean {
    return (
      this.process !== null && this.process.exitCode === null && this.process.signalCode === null
    );
  }

  /** Starts the process and waits until it answers PING (after loading its data). */
  async start(): Promise<void> {
    if (this.running) return;
    const child = spawn('redis-server', this.args(this.dir), { stdio: 'ignore' });
    let spawnError: Error | undefined;
    child.on('error', (error) => (spawnError = error));
    this.process = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (spawnError || !this.running) break;
      if (await answersPing(this.port)) return;
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    await this.kill();
    throw new Error(
      `redis-server on port ${this.port} did not start` +
        (spawnError ? `: ${spawnError.message}` : '') +
        `\n${this.logTail()}`,
    );
  }

  /** SIGTERM (a clean shutdown: the AOF is flushed), then waits for the exit. */
  async stop(): Promise<void> {
    await this.signal('SIGTERM');
  }

  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGSTOP: the process stays, its connections stay open, nothing answers. */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  resume(): void {
    this.process?.kill('SIGCONT');
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** The last lines of the log, for error messages. */
  logTail(lines = 15): string {
    if (!existsSync(this.logFile)) return '(no log)';
    return readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    if (!child) return;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      // A paused process only acts on SIGTERM once it runs again.
      if (signal !== 'SIGKILL') child.kill('SIGCONT');
      await exited;
    }
    this.process = null;
  }
}

/** One line of CLUSTER NODES. */
export interface ClusterNodeView {
  id: string;
  port: number;
  flags: string[];
  /** The primary's id for a replica, '-' for a primary. */
  masterId: string;
  linkState: string;
  /** Inclusive slot ranges served (primaries only). */
  slots: Array<[number, number]>;
}

export function parseClusterNodes(text: unknown): ClusterNodeView[] {
  return String(text)
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id, address, flags, masterId, , , , linkState, ...slots] = line.trim().split(' ');
      return {
        id,
        // ip:port@cport[,hostname]
        port: Number(address.split('@')[0].split(':').pop()),
        flags: flags.split(','),
        masterId,
        linkState,
        slots: slots
          // Importing/migrating slots look like [1234->-id]: not (yet) served by this node.
          .filter((range) => !range.startsWith('['))
          .map((range): [number, number] => {
            const [from, to = from] = range.split('-').map(Number);
            return [from, to];
          }),
      };
    });
}

const failing = (node: ClusterNodeView): boolean =>
  node.flags.includes('fail') || node.flags.includes('fail?');

/** Who serves which slots and who replicates whom, in one view, as a comparable string. */
function topologyOf(view: ClusterNodeView[]): string {
  const ports = new Map(view.map((node) => [node.id, node.port]));
  return view
    .map((node) =>
      node.flags.includes('slave')
        ? `${node.port}<${ports.get(node.masterId)}`
        : `${node.port}:${node.slots.map((range) => range.join('-')).join(',') || '-'}`,
    )
    .sort()
    .join(' ');
}

export interface RedisClusterOptions {
  /** Default 3. */
  primaries?: number;
  /** Default 0. */
  replicasPerPrimary?: number;
  /** AOF on every node; default false (no persistence at all: --save ''). */
  appendonly?: boolean;
  /** With appendonly; default 'always', so that a SIGKILL loses no acknowledged write. */
  appendfsync?: 'always' | 'everysec';
}

const TOTAL_SLOTS = 16384;
const ANSI_COLOURS = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/**
 * A private Redis Cluster on free ports, for one test file: `primaries` primaries with
 * `replicasPerPrimary` replicas each, every node a redis-server with its own temp dir (its
 * nodes.conf and AOF), joined by `redis-cli --cluster create`. Nodes can be stopped, killed and
 * started again (they rejoin from nodes.conf) and replicas promoted with CLUSTER FAILOVER.
 */
export class RedisCluster {
  private constructor(private readonly members: RedisNode[]) {}

  static async start(options: RedisClusterOptions = {}): Promise<RedisCluster> {
    const primaries = options.primaries ?? 3;
    const replicas = options.replicasPerPrimary ?? 0;
    const count = primaries * (1 + replicas);
    // A data port and a cluster bus port per node: the default bus port (port + 10000) may be
    // taken or above 65535 for an ephemeral port, so --cluster-port sets it.
    const ports = await freePorts(count * 2);
    const persistence = options.appendonly
      ? ['--appendonly', 'yes', '--appendfsync', options.appendfsync ?? 'always']
      : ['--appendonly', 'no'];
    const members = ports.slice(0, count).map(
      (port, i) =>
        new RedisNode(port, (dir) => [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-port',
          String(ports[count + i]),
          '--cluster-config-file',
          'nodes.conf',
          '--cluster-node-timeout',
          '2000',
          '--save',
          '',
          // A replica's full sync starts at once, not after the default 5 s wait for others.
          '--repl-diskless-sync-delay',
          '0',
          '--dir',
          dir,
          '--logfile',
          join(dir, 'redis.log'),
          ...persistence,
        ]),
    );
    const cluster = new RedisCluster(members);
    try {
      await Promise.all(members.map((member) => member.start()));
      await cluster.create(replicas);
      await cluster.waitForState('ok', 30_000);
      return cluster;
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
  }

  /** Every node (as started), for REDIS_CLUSTER_NODES: "127.0.0.1:p1,127.0.0.1:p2,...". */
  get nodes(): string {
    return this.ports.map((port) => `127.0.0.1:${port}`).join(',');
  }

  get ports(): number[] {
    return this.members.map((member) => member.port);
  }

  /** A fresh Cluster client that knows every node (the caller quits it). */
  client(): Cluster {
    return new Cluster(
      this.ports.map((port) => ({ host: '127.0.0.1', port })),
      { redisOptions: { maxRetriesPerRequest: 1 } },
    );
  }

  /** A fresh plain client of one node (the caller quits it). */
  nodeClient(port: number): Redis {
    this.member(port);
    return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  }

  /** Ports of the running nodes, primaries and replicas. */
  runningPorts(): number[] {
    return this.members.filter((member) => member.running).map((member) => member.port);
  }

  /**
   * The ports of the primaries serving slots now, in slot order, as a running node sees them
   * (nodes flagged as failing, or stopped by this harness, left out).
   */
  async primaryPorts(): Promise<number[]> {
    const running = new Set(this.runningPorts());
    return (await this.clusterNodes())
      .filter((node) => node.flags.includes('master') && node.slots.length > 0)
      .filter((node) => !failing(node) && running.has(node.port))
      .sort((a, b) => a.slots[0][0] - b.slots[0][0])
      .map((node) => node.port);
  }

  /** The port of the primary that serves `key`'s slot (CLUSTER KEYSLOT, then CLUSTER NODES). */
  async slotOwnerPort(key: string): Promise<number> {
    const port = this.anyRunningPort();
    const slot = Number(await nodeCommand(port, 'CLUSTER', 'KEYSLOT', key));
    const owner = parseClusterNodes(await nodeCommand(port, 'CLUSTER', 'NODES')).find(
      (node) =>
        node.flags.includes('master') &&
        node.slots.some(([from, to]) => from <= slot && slot <= to),
    );
    if (!owner) throw new Error(`No node serves slot ${slot} (key ${key})`);
    return owner.port;
  }

  async stopNode(port: number): Promise<void> {
    await this.member(port).stop();
  }

  async killNode(port: number): Promise<void> {
    await this.member(port).kill();
  }

  pauseNode(port: number): void {
    this.member(port).pause();
  }

  resumeNode(port: number): void {
    this.member(port).resume();
  }

  /**
   * Starts a stopped node again on its port, directory and arguments: it rejoins from its
   * nodes.conf. Only waits until it answers PING; follow with waitForState('ok').
   */
  async startNode(port: number): Promise<void> {
    await this.member(port).start();
  }

  /**
   * Waits until every running node reports cluster_state `state`. For 'ok' also until all of
   * them see all 16384 slots served, agree on which primary serves which slots and which node
   * replicates which (a primary that does not know its replica yet fails CLUSTER FAILOVER), see
   * no running node as failing or disconnected, and every running replica has its link up.
   */
  async waitForState(state: 'ok' | 'fail', timeoutMs = 30_000): Promise<void> {
    await waitUntil(`cluster_state:${state}`, () => this.stateProblem(state), timeoutMs);
  }

  /**
   * CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica, then waits until it is a primary, its old
   * primary (if running) replicates it, and the cluster is ok. The default (coordinated) mode
   * needs the old primary up and loses no write; FORCE/TAKEOVER work with it down.
   */
  async failover(
    replicaPort: number,
    mode?: 'FORCE' | 'TAKEOVER',
    timeoutMs = 30_000,
  ): Promise<{ from: number; to: number }> {
    const nodes = await this.clusterNodes(replicaPort);
    const myself = nodes.find((node) => node.flags.includes('myself'))!;
    const primary = nodes.find((node) => node.id === myself.masterId);
    if (!myself.flags.includes('slave') || !primary) {
      throw new Error(`Node ${replicaPort} is not a replica`);
    }
    const request = (): Promise<unknown> =>
      nodeCommand(replicaPort, 'CLUSTER', 'FAILOVER', ...(mode ? [mode] : []));
    await request();
    let requested = Date.now();
    await waitUntil(
      `replica ${replicaPort} to take over from ${primary.port}`,
      async () => {
        const role = parseInfo(await nodeCommand(replicaPort, 'INFO', 'replication')).role;
        if (role !== 'master') {
          // A manual failover gives up after 5 s ("Manual failover timed out"): ask again.
          if (Date.now() - requested > 6_000) {
            requested = Date.now();
            await request();
          }
          return `${replicaPort} is still ${role}`;
        }
        if (this.member(primary.port).running) {
          const old = parseClusterNodes(await nodeCommand(primary.port, 'CLUSTER', 'NODES'));
          const oldSelf = old.find((node) => node.flags.includes('myself'))!;
          if (oldSelf.masterId !== myself.id) return `${primary.port} does not replicate it yet`;
        }
        return this.stateProblem('ok');
      },
      timeoutMs,
    ).catch((error: Error) => {
      const log = this.member(replicaPort).logTail();
      throw new Error(`${error.message}\nLog of ${replicaPort}:\n${log}`);
    });
    return { from: primary.port, to: replicaPort };
  }

  /** Kills every node and removes their directories. */
  async destroy(): Promise<void> {
    await Promise.all(this.members.map((member) => member.destroy()));
  }

  private member(port: number): RedisNode {
    const member = this.members.find((candidate) => candidate.port === port);
    if (!member) throw new Error(`Port ${port} is not a node of this cluster`);
    return member;
  }

  private anyRunningPort(): number {
    const port = this.runningPorts()[0];
    if (port === undefined) throw new Error('No node of the cluster is running');
    return port;
  }

  private async clusterNodes(port = this.anyRunningPort()): Promise<ClusterNodeView[]> {
    return parseClusterNodes(await nodeCommand(port, 'CLUSTER', 'NODES'));
  }

  private async create(replicas: number): Promise<void> {
    const args = ['--cluster', 'create', ...this.ports.map((port) => `127.0.0.1:${port}`)];
    args.push('--cluster-replicas', String(replicas), '--cluster-yes');
    await new Promise<void>((resolve, reject) =>
      execFile('redis-cli', args, { timeout: 60_000 }, (error, stdout, stderr) => {
        if (!error) return resolve();
        // Strip the colours redis-cli prints even into a pipe.
        const output = `${stdout}${stderr}`.replace(ANSI_COLOURS, '');
        reject(new Error(`redis-cli --cluster create failed: ${error.message}\n${output}`));
      }),
    );
  }

  /** What keeps the cluster from `state` now, or undefined. */
  private async stateProblem(state: 'ok' | 'fail'): Promise<string | undefined> {
    const running = this.runningPorts();
    const maps = new Set<string>();
    for (const port of running) {
      const info = parseInfo(await nodeCommand(port, 'CLUSTER', 'INFO'));
      if (info.cluster_state !== state)
        return `${port} reports cluster_state:${info.cluster_state}`;
      if (state === 'fail') continue;
      if (Number(info.cluster_slots_ok) !== TOTAL_SLOTS) {
        return `${port} sees ${info.cluster_slots_ok}/${TOTAL_SLOTS} slots ok`;
      }
      const view = parseClusterNodes(await nodeCommand(port, 'CLUSTER', 'NODES'));
      const unhealthy = view.find(
        (node) =>
          running.includes(node.port) &&
          (failing(node) || (!node.flags.includes('myself') && node.linkState !== 'connected')),
      );
      if (unhealthy) return `${port} sees ${unhealthy.port} as ${unhealthy.flags.join(',')}`;
      maps.add(topologyOf(view));
      if (view.find((node) => node.flags.includes('myself'))?.flags.includes('slave')) {
        const replication = parseInfo(await nodeCommand(port, 'INFO', 'replication'));
        if (replication.master_link_status !== 'up') return `replica ${port} has its link down`;
      }
    }
    if (maps.size > 1) return `nodes disagree on the topology: ${[...maps].join(' | ')}`;
    return undefined;
  }
}
