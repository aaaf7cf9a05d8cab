import { ReplyError } from 'ioredis';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';
import { AppError } from '../common/app-error';
import { ReplicationShortfallError } from './redis-topology.service';
import {
  classifyRedisFailure,
  isOutOfMemory,
  redisFailure,
  refusesWrites,
  REFUSED_RETRY_AFTER_SECONDS,
  replyCode,
} from './redis.errors';

/** An error reply as ioredis hands it to a caller. */
function reply(message: string): Error {
  return new (ReplyError as new (message: string) => Error)(message);
}

function connectionError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code ? { code } : {});
}

const OOM = "OOM command not allowed when used memory > 'maxmemory'.";

describe(classifyRedisFailure.name, () => {
  it.each([
    ['connection closed', new Error('Connection is closed.')],
    ['command timeout', new Error('Command timed out')],
    [
      'offline queue off',
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    ],
    [
      'Cluster not ready, offline queue off',
      new Error("Cluster isn't ready and enableOfflineQueue options is false"),
    ],
    ['connection refused', connectionError('connect ECONNREFUSED 127.0.0.1:6379', 'ECONNREFUSED')],
    ['connection reset', connectionError('read ECONNRESET', 'ECONNRESET')],
    ['retries exhausted', new MaxRetriesPerRequestError(2)],
    ['Cluster unreachable', new Error('None of startup nodes is available')],
    ['replicas short', new ReplicationShortfallError('0 of 1 replicas confirmed within 100 ms')],
    ['LOADING', reply('LOADING Redis is loading the dataset in memory')],
    ['BUSY', reply('BUSY Redis is busy running a script.')],
    ['CLUSTERDOWN', reply('CLUSTERDOWN The cluster is down')],
    ['TRYAGAIN', reply('TRYAGAIN Multiple keys request during rehashing of slot')],
    ['MASTERDOWN', reply('MASTERDOWN Link with MASTER is down')],
  ])('%s is transient', (_, error) => {
    expect(classifyRedisFailure(error)).toBe('transient');
  });

  it.each([
    ['OOM', reply(OOM)],
    ['OOM inside a script (Redis 7)', reply(`${OOM} script: b42b5387, on @user_script:1.`)],
    [
      'OOM inside a script (Redis 6)',
      reply(`ERR Error running script (call to f_b42b): @user_script:1: @user_script: 1: -${OOM}`),
    ],
    ['MISCONF', reply('MISCONF Redis is configured to save RDB snapshots, but it is unable to')],
    ['NOSCRIPT', reply('NOSCRIPT No matching script. Please use EVAL.')],
    ['a script error', reply('ERR user_script:1: boom script: 57b11f4c, on @user_script:1.')],
    ['WRONGTYPE', reply('WRONGTYPE Operation against a key holding the wrong kind of value')],
    ['wrong arguments', reply("ERR wrong number of arguments for 'set' command")],
    ['NOPERM', reply('NOPERM this user has no permissions to run the command')],
  ])('%s is permanent', (_, error) => {
    expect(classifyRedisFailure(error)).toBe('permanent');
  });

  it('takes READONLY for a failover where one can move the primary, else for good', () => {
    const readonly = reply("READONLY You can't write against a read only replica.");
    expect(classifyRedisFailure(readonly, { failover: true })).toBe('transient');
    expect(classifyRedisFailure(readonly, { failover: false })).toBe('permanent');
    expect(classifyRedisFailure(readonly)).toBe('permanent');
  });

  it('leaves refusals of the service and errors that are not Redis alone', () => {
    expect(classifyRedisFailure(new AppError('NOT_FOUND', 'no such mailbox'))).toBeNull();
    expect(classifyRedisFailure(new TypeError('Cannot read properties of undefined'))).toBeNull();
    expect(classifyRedisFailure('Connection is closed.')).toBeNull();
  });
});

describe(replyCode.name, () => {
  it('finds the code of the command that failed inside a script', () => {
    expect(replyCode(reply(`${OOM} script: b42b5387, on @user_script:1.`))).toBe('OOM');
    expect(
      replyCode(
        reply(`ERR Error running script (call to f_b4): @user_script:1: @user_script: 1: -${OOM}`),
      ),
    ).toBe('OOM');
    expect(replyCode(reply('WRONGTYPE Operation against a key'))).toBe('WRONGTYPE');
    expect(replyCode(new Error('OOM but not a reply'))).toBeNull();
  });
});

describe(refusesWrites.name, () => {
  it('is true for a store that takes no writes and false for a wrong command', () => {
    expect(refusesWrites(reply(OOM))).toBe(true);
    expect(refusesWrites(reply("READONLY You can't write against a read only replica."))).toBe(
      true,
    );
    expect(refusesWrites(reply('MISCONF unable to persist to disk'))).toBe(true);
    expect(refusesWrites(reply('WRONGTYPE Operation against a key'))).toBe(false);
    expect(refusesWrites(new Error('Connection is closed.'))).toBe(false);
    expect(isOutOfMemory(reply(OOM))).toBe(true);
    expect(isOutOfMemory(reply('MISCONF unable to persist to disk'))).toBe(false);
  });
});

describe(redisFailure.name, () => {
  it('answers STORE_FULL with a retry hint when Redis is out of memory', () => {
    const failure = redisFailure(reply(`${OOM} script: 6a1f, on @user_script:12.`));
    expect(failure?.code).toBe('STORE_FULL');
    expect(failure?.details.retryAfterSeconds).toBe(REFUSED_RETRY_AFTER_SECONDS);
    expect(failure?.message).toContain('nothing was stored');
  });

  it('answers SERVICE_UNAVAILABLE with a retry hint for every other Redis failure', () => {
    for (const error of [
      new Error('Connection is closed.'),
      new MaxRetriesPerRequestError(2),
      reply("READONLY You can't write against a read only replica."),
      reply('NOSCRIPT No matching script. Please use EVAL.'),
    ]) {
      const failure = redisFailure(error);
      expect(failure?.code).toBe('SERVICE_UNAVAILABLE');
      expect(failure?.details.retryAfterSeconds).toEqual(expect.any(Number));
    }
  });

  it("tells the client the failure's kind, never Redis' own text (scripts, users, settings, addresses)", () => {
    const cases: Array<[Error, string, string[]]> = [
      [
        reply(`${OOM} script: 6a1f9c, on @user_script:12.`),
        "(OOM: used memory is over 'maxmemory')",
        ['6a1f9c', 'user_script'],
      ],
      [
        reply('NOPERM User svc-mailbox has no permissions to run the evalsha command'),
        '(NOPERM)',
        ['svc-mailbox'],
      ],
      [
        reply('MISCONF Redis is configured to save RDB snapshots, but stop-writes-on-bgsave-error'),
        '(MISCONF)',
        ['stop-writes-on-bgsave-error'],
      ],
      [
        new Error(
          'Too many Cluster redirections. Last error: ReplyError: MOVED 5798 10.0.1.17:6379',
        ),
        '(Too many Cluster redirections)',
        ['10.0.1.17'],
      ],
      [
        Object.assign(new Error('connect ECONNREFUSED 10.0.1.17:6379'), { code: 'ECONNREFUSED' }),
        '(ECONNREFUSED)',
        ['10.0.1.17'],
      ],
    ];
    for (const [error, said, unsaid] of cases) {
      const message = redisFailure(error)!.message;
      expect(message).toContain(said);
      for (const text of unsaid) expect(message).not.toContain(text);
    }
  });

  it('is null for errors that are not Redis failures, which the filter reports as internal', () => {
    expect(redisFailure(new RangeError('Invalid array length'))).toBeNull();
    expect(redisFailure(new AppError('BAD_USER_INPUT', 'content: too long'))).toBeNull();
  });
});
