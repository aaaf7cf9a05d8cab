import type { Redis } from 'ioredis';
import type { Socket } from 'node:net';
import type { RedisConfig } from '../../src/config/app-config.service';
import { createRedisClient } from '../../src/redis/redis-client.factory';
import type { ScriptedClient } from '../../src/redis/redis-scripts';
import { eventually } from '../utils/graphql-client';
import { RedisServer } from '../utils/redis-server';

/** The socket of a standalone client (ioredis replaces it on every reconnect). */
function socketOf(client: ScriptedClient): Socket {
  return (client as Redis).stream;
}

/** Counts the system-call-level writes (Node's _write and _writev) of the client's socket. */
function countWrites(socket: Socket): { calls: number } {
  const counter = { calls: 0 };
  const internals = socket as unknown as {
    _write: (...args: unknown[]) => void;
    _writev: (...args: unknown[]) => void;
  };
  const write = internals._write.bind(socket);
  const writev = internals._writev.bind(socket);
  internals._write = (...args) => {
    counter.calls += 1;
    write(...args);
  };
  internals._writev = (...args) => {
    counter.calls += 1;
    writev(...args);
  };
  return counter;
}

describe('the command connection writes a turn of the event loop at once', () => {
  let server: RedisServer;
  let client: ScriptedClient;

  beforeAll(async () => {
    server = await RedisServer.start();
  });

  afterAll(async () => {
    client?.disconnect();
    await server.stop();
  });

  async function connect(): Promise<ScriptedClient> {
    const config: RedisConfig = {
      url: server.url,
      keyPrefix: '',
      clusterNodes: [],
      sentinels: [],
      sentinelMaster: 'mymaster',
      commandTimeoutMs: 5_000,
      waitReplicas: 0,
      waitTimeoutMs: 1_000,
    };
    const created = createRedisClient(config, 'commands');
    await eventually(() => created.status === 'ready');
    return created;
  }

  it('sends 100 commands issued together in one write, answered in order', async () => {
    client = await connect();
    const writes = countWrites(socketOf(client));

    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, index) => client.set(`coalesced:${index}`, String(index))),
    );
    const values = await Promise.all(
      Array.from({ length: 100 }, (_, index) => client.get(`coalesced:${index}`)),
    );

    expect(replies).toEqual(Array.from({ length: 100 }, () => 'OK'));
    expect(values).toEqual(Array.from({ length: 100 }, (_, index) => String(index)));
    expect(writes.calls).toBe(2);
  });

  it('keeps doing so on the socket of a reconnect', async () => {
    client ??= await connect();
    const before = socketOf(client);
    await server.restart();
    await eventually(() => client.status === 'ready' && socketOf(client) !== before, 15_000);
    const writes = countWrites(socketOf(client));

    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, index) => client.incr(`coalesced:count:${index % 5}`)),
    );

    expect(replies.slice(0, 5)).toEqual([1, 1, 1, 1, 1]);
    expect(replies.slice(45)).toEqual([10, 10, 10, 10, 10]);
    expect(writes.calls).toBe(1);
  });
});
