#!/usr/bin/env node
// `npm start`: serves the API with nothing configured. With REDIS_URL (or a Cluster or
// Sentinel setting) it uses that. Without, it uses the Redis on 127.0.0.1:6379 when one
// answers; otherwise it starts a private redis-server from PATH with its data under .data/.
// Without WORKERS, one worker per CPU core serves the port (WORKERS=auto).
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const { mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const net = require('node:net');
const { join } = require('node:path');

const root = join(__dirname, '..');
const DEFAULT_HOST = '127.0.0.1';
const DEFAULT_PORT = 6379;

function say(line) {
  process.stderr.write(`[start] ${line}\n`);
}

/** Resolves true when a Redis answers PING on host:port within the timeout. */
function redisAnswers(host, port, timeoutMs = 700) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let reply = '';
    const finish = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}

function hasRedisServer() {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A TCP port nobody listens on now: `wanted`, or null when it is taken; without it, any. */
function freePort(wanted = 0) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', (error) => (wanted === 0 ? reject(error) : resolve(null)));
    server.listen(wanted, DEFAULT_HOST, () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * The private redis-server's port: the one it had the last time (.data/redis.port) while it
 * is free, else a new one, remembered. Sends spooled while the Redis was away belong to its
 * address, and are stored only by a service that talks to that address again.
 */
async function privatePort(dir) {
  const file = join(dir, 'redis.port');
  let previous = 0;
  try {
    previous = Number(readFileSync(file, 'utf8').trim()) || 0;
  } catch {
    // none yet
  }
  const again = previous > 0 ? await freePort(previous) : null;
  if (again !== null) return again;
  const port = await freePort();
  writeFileSync(file, `${port}\n`);
  return port;
}

async function startPrivateRedis(port) {
  const dir = join(root, '.data');
  mkdirSync(dir, { recursive: true });
  const redis = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--save',
      '',
      '--logfile',
      join(dir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 50; i += 1) {
    if (await redisAnswers(DEFAULT_HOST, port)) return redis;
    if (redis.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  redis.kill('SIGKILL');
  say(
    `the private redis-server did not start on port ${port}; see .data/redis.log, or set REDIS_URL.`,
  );
  process.exit(1);
}

async function main() {
  const env = { WORKERS: 'auto', ...process.env };
  let redis = null;
  const configured = env.REDIS_URL || env.REDIS_CLUSTER_NODES || env.REDIS_SENTINELS;
  if (!configured) {
    if (await redisAnswers(DEFAULT_HOST, DEFAULT_PORT)) {
      say(`using the Redis at redis://${DEFAULT_HOST}:${DEFAULT_PORT}`);
    } else if (hasRedisServer()) {
      const dir = join(root, '.data');
      mkdirSync(dir, { recursive: true });
      const port = await privatePort(dir);
      redis = await startPrivateRedis(port);
      env.REDIS_URL = `redis://${DEFAULT_HOST}:${port}`;
      say(
        `no Redis at ${DEFAULT_HOST}:${DEFAULT_PORT}: started a private redis-server on port ${port} with its data in .data/`,
      );
    } else {
      say(
        `no Redis answers at ${DEFAULT_HOST}:${DEFAULT_PORT} and redis-server is not on PATH: install Redis (apt-get install redis-server, brew install redis) or set REDIS_URL=redis://host:port.`,
      );
      process.exit(1);
    }
  }
  const service = spawn(process.execPath, [join(root, 'dist', 'main.js')], {
    env,
    stdio: 'inherit',
  });
  const forward = (signal) => service.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  service.on('exit', (code, signal) => {
    if (redis) redis.kill('SIGTERM');
    process.exit(code ?? (signal ? 1 : 0));
  });
}

void main();
