import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePorts, nodeCommand, parseInfo, RedisNode, waitUntil } from './redis-cluster';

export interface RedisSentinelGroupOptions {
  /** Replicas of the primary; default 1. */
  replicas?: number;
  /** Default 3; the quorum is a majority of them. */
  sentinels?: number;
  /** Default 'mymaster'. */
  masterName?: string;
}

/** A SENTINEL REPLICAS / SENTINEL SENTINELS entry: flat [field, value, ...] as a record. */
function fieldsOf(entry: unknown): Record<string, string> {
  const flat = (entry as unknown[]).map(String);
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]] = flat[i + 1];
  return fields;
}

/** A redis-server's `ROLE` reply: role, and for a replica its primary's port and link state. */
async function roleOf(port: number): Promise<{ role: string; masterPort?: number; link?: string }> {
  const reply = (await nodeCommand(port, 'ROLE')) as unknown[];
  const role = String(reply[0]);
  return role === 'slave'
    ? { role, masterPort: Number(reply[2]), link: String(reply[3]) }
    : { role };
}

/**
 * A private Sentinel setup for one test file: a primary, `replicas` replicas of it and
 * `sentinels` sentinels monitoring it as `masterName`, each a process on a free port with its
 * own temp dir. Sentinels rewrite their config file (known replicas and sentinels, epochs), so
 * every sentinel has its own writable one, kept across a restart of that sentinel.
 */
export class RedisSentinelGroup {
  private constructor(
    readonly masterName: string,
    private readonly dataNodes: RedisNode[],
    private readonly sentinelNodes: RedisNode[],
  ) {}

  static async start(options: RedisSentinelGroupOptions = {}): Promise<RedisSentinelGroup> {
    const masterName = options.masterName ?? 'mymaster';
    const replicaCount = options.replicas ?? 1;
    const sentinelCount = options.sentinels ?? 3;
    const ports = await freePorts(1 + replicaCount + sentinelCount);
    const primaryPort = ports[0];
    const dataNodes = ports.slice(0, 1 + replicaCount).map(
      (port, i) =>
        new RedisNode(port, (dir) => [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          // A replica's full sync starts at once, not after the default 5 s wait for others.
          '--repl-diskless-sync-delay',
          '0',
          '--appendonly',
          'no',
          '--dir',
          dir,
          '--logfile',
          join(dir, 'redis.log'),
          ...(i === 0 ? [] : ['--replicaof', '127.0.0.1', String(primaryPort)]),
        ]),
    );
    const sentinelNodes = ports
      .slice(1 + replicaCount)
      .map((port) => new RedisNode(port, (dir) => [join(dir, 'sentinel.conf'), '--sentinel']));
    const group = new RedisSentinelGroup(masterName, dataNodes, sentinelNodes);
    try {
      await Promise.all(dataNodes.map((node) => node.start()));
      await waitUntil(
        'the replicas to sync',
        async () => {
          for (const node of dataNodes.slice(1)) {
            const role = await roleOf(node.port);
            if (role.link !== 'connected') return `replica ${node.port} is ${role.link}`;
          }
          return undefined;
        },
        20_000,
      );
      const quorum = Math.floor(sentinelCount / 2) + 1;
      for (const node of sentinelNodes) {
        // Written once: a restarted sentinel goes on from what it rewrote into the file.
        writeFileSync(
          join(node.dir, 'sentinel.conf'),
          [
            `port ${node.port}`,
            'bind 127.0.0.1',
            `dir ${node.dir}`,
            `logfile ${node.logFile}`,
            'sentinel resolve-hostnames no',
            `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} ${quorum}`,
            // Failovers in the tests are asked for (SENTINEL FAILOVER); a busy machine must not
            // make the sentinels think the primary is down and start one by themselves.
            `sentinel down-after-milliseconds ${masterName} 5000`,
            `sentinel failover-timeout ${masterName} 5000`,
            `sentinel parallel-syncs ${masterName} 1`,
            '',
          ].join('\n'),
        );
      }
      await Promise.all(sentinelNodes.map((node) => group.startSentinel(node)));
      await group.waitUntilSentinelsAgree(primaryPort, 30_000);
      return group;
    } catch (error) {
      await group.destroy();
      throw error;
    }
  }

  /** For REDIS_SENTINELS: "127.0.0.1:s1,127.0.0.1:s2,...". */
  get sentinels(): string {
    return this.sentinelPorts.map((port) => `127.0.0.1:${port}`).join(',');
  }

  get sentinelPorts(): number[] {
    return this.sentinelNodes.map((node) => node.port);
  }

  /** The ports of the primary and replicas as started (which one is the primary changes). */
  get dataPorts(): number[] {
    return this.dataNodes.map((node) => node.port);
  }

  /** The primary's port, as the first running sentinel reports it. */
  async masterPort(): Promise<number> {
    const sentinel = this.sentinelNodes.find((node) => node.running);
    if (!sentinel) throw new Error('No sentinel is running');
    return this.masterPortFrom(sentinel.port);
  }

  /** A fresh client of the primary, found through the sentinels (the caller quits it). */
  client(): Redis {
    return new Redis({
      sentinels: this.sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
      name: this.masterName,
      maxRetriesPerRequest: 1,
    });
  }

  /** A fresh plain client of one data node or sentinel (the caller quits it). */
  nodeClient(port: number): Redis {
    this.member(port);
    return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  }

  /** The running data nodes other than the primary. */
  async replicaPorts(): Promise<number[]> {
    const master = await this.masterPort();
    return this.dataNodes
      .filter((node) => node.running && node.port !== master)
      .map((node) => node.port);
  }

  /**
   * A failover on demand: waits until the replicas have every write the primary has (so that
   * nothing acknowledged is lost), runs SENTINEL FAILOVER on a sentinel, then waits until every
   * running sentinel reports the new primary, it says ROLE master, and the old primary and other
   * replicas replicate it with their link up, as the sentinels also see them (a next failover
   * can start right away). To test a lossy failover, kill the primary instead.
   */
  async failover(timeoutMs = 30_000): Promise<{ from: number; to: number }> {
    const from = await this.masterPort();
    const offset = Number(
      parseInfo(await nodeCommand(from, 'INFO', 'replication')).master_repl_offset,
    );
    await waitUntil(
      `the replicas to reach offset ${offset}`,
      async () => {
        for (const port of await this.replicaPorts()) {
          const info = parseInfo(await nodeCommand(port, 'INFO', 'replication'));
          const at = Number(info.slave_repl_offset);
          if (at < offset) return `${port} is at ${at}`;
        }
        return undefined;
      },
      timeoutMs,
    );
    const sentinel = this.sentinelNodes.find((node) => node.running)!.port;
    // NOGOODSLAVE (no replica the sentinel trusts yet) or INPROG: ask again until it starts.
    await waitUntil(
      `SENTINEL FAILOVER ${this.masterName} to be accepted`,
      async () => {
        await nodeCommand(sentinel, 'SENTINEL', 'FAILOVER', this.masterName);
        return undefined;
      },
      timeoutMs,
    );
    let to = from;
    await waitUntil(
      `the failover from ${from}`,
      async () => {
        to = await this.masterPortFrom(sentinel);
        if (to === from) return `the sentinels still report ${from}`;
        return this.problemWithMaster(to);
      },
      timeoutMs,
    );
    return { from, to };
  }

  async stopNode(port: number): Promise<void> {
    await this.member(port).stop();
  }

  async killNode(port: number): Promise<void> {
    await this.member(port).kill();
  }

  /** Starts a stopped data node or sentinel again (same port, directory and config file). */
  async startNode(port: number): Promise<void> {
    const node = this.member(port);
    if (this.sentinelNodes.includes(node)) await this.startSentinel(node);
    else await node.start();
  }

  /** Kills every process and removes their directories. */
  async destroy(): Promise<void> {
    await Promise.all([...this.sentinelNodes, ...this.dataNodes].map((node) => node.destroy()));
  }

  private member(port: number): RedisNode {
    const node = [...this.dataNodes, ...this.sentinelNodes].find((n) => n.port === port);
    if (!node) throw new Error(`Port ${port} is not a node of this sentinel group`);
    return node;
  }

  /**
   * Starts a sentinel with shorter periods than the built-in ones (SENTINEL DEBUG, Redis 7):
   * INFO every 500 ms instead of 10 s and hello messages every 250 ms instead of 2 s, so that
   * sentinels find replicas and each other, and turn an old primary into a replica (they wait
   * 4 hello periods before doing it), in a second or two rather than 10-20 s. Not persisted:
   * applied again on every start.
   */
  private async startSentinel(node: RedisNode): Promise<void> {
    await node.start();
    await nodeCommand(
      node.port,
      'SENTINEL',
      'DEBUG',
      'info-period',
      '500',
      'publish-period',
      '250',
    );
  }

  private async masterPortFrom(sentinelPort: number): Promise<number> {
    const reply = await nodeCommand(
      sentinelPort,
      'SENTINEL',
      'GET-MASTER-ADDR-BY-NAME',
      this.masterName,
    );
    if (!Array.isArray(reply)) throw new Error(`Sentinel ${sentinelPort} does not know the master`);
    return Number(reply[1]);
  }

  /**
   * Waits until `master` is the settled primary: ROLE master, every other running data node
   * replicating it, every running sentinel reporting it (see problemWithMaster).
   */
  async waitUntilSettled(master: number, timeoutMs = 30_000): Promise<void> {
    await this.waitUntilSentinelsAgree(master, timeoutMs);
  }

  private async waitUntilSentinelsAgree(master: number, timeoutMs: number): Promise<void> {
    await waitUntil(
      `the sentinels to know ${master}, its replicas and each other`,
      () => this.problemWithMaster(master),
      timeoutMs,
    );
  }

  /**
   * What keeps `master` from being the settled primary now, or undefined: it must say ROLE
   * master, every other running data node must replicate it with the link up, and every running
   * sentinel must report it, list those replicas as healthy and know every other sentinel.
   */
  private async problemWithMaster(master: number): Promise<string | undefined> {
    const role = await roleOf(master);
    if (role.role !== 'master') return `${master} says ROLE ${role.role}`;
    const replicas = this.dataNodes.filter((node) => node.running && node.port !== master);
    for (const replica of replicas) {
      const replicaRole = await roleOf(replica.port);
      if (replicaRole.masterPort !== master || replicaRole.link !== 'connected') {
        return replicaRole.role === 'slave'
          ? `${replica.port} replicates ${replicaRole.masterPort} (${replicaRole.link})`
          : `${replica.port} says ROLE ${replicaRole.role}, not a replica of ${master} yet`;
      }
    }
    const sentinels = this.sentinelNodes.filter((node) => node.running);
    for (const sentinel of sentinels) {
      const reported = await this.masterPortFrom(sentinel.port);
      if (reported !== master) return `sentinel ${sentinel.port} reports ${reported}`;
      const known = (
        (await nodeCommand(sentinel.port, 'SENTINEL', 'REPLICAS', this.masterName)) as unknown[]
      )
        .map(fieldsOf)
        .filter(
          (fields) =>
            fields.flags === 'slave' &&
            fields['master-link-status'] === 'ok' &&
            fields['master-port'] === String(master),
        );
      if (known.length < replicas.length) {
        return `sentinel ${sentinel.port} knows ${known.length}/${replicas.length} healthy replicas`;
      }
      const peers = (await nodeCommand(
        sentinel.port,
        'SENTINEL',
        'SENTINELS',
        this.masterName,
      )) as unknown[];
      if (peers.length < sentinels.length - 1) {
        return `sentinel ${sentinel.port} knows ${peers.length}/${sentinels.length - 1} other sentinels`;
      }
    }
    return undefined;
  }
}
