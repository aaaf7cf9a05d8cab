import { getMetadataStorage } from 'class-validator';

import {
  type ConfigurationReferenceEntry,
  ConfigurationError,
  configurationReference,
  EnvironmentVariables,
  VARIABLE_GROUPS,
  validateEnvironment,
} from './environment';

/** The pure half of scripts/config-reference.js, which renders the reference. */
interface ReferenceRenderer {
  renderTable(entries: readonly ConfigurationReferenceEntry[]): string;
  renderEnvExample(entries: readonly ConfigurationReferenceEntry[]): string;
  replaceBetweenMarkers(document: string, block: string): string;
}

const renderer = jest.requireActual<ReferenceRenderer>('../../scripts/config-reference.js');

/** The error `validateEnvironment` throws for `raw`; fails the test when it throws nothing. */
function configurationErrorFor(raw: Record<string, unknown>): ConfigurationError {
  try {
    validateEnvironment(raw);
  } catch (error: unknown) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

describe(validateEnvironment.name, () => {
  it('gives every documented default for an empty environment', () => {
    const variables = validateEnvironment({});

    expect(variables).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      REDIS_URL: 'redis://127.0.0.1:6379',
      REDIS_KEY_PREFIX: '',
      REDIS_SENTINEL_MASTER: 'mymaster',
      AUTH_ENABLED: true,
      ROUTER_MAX_RETRY_ATTEMPTS: 3,
      ROUTER_BASE_RETRY_DELAY: 1,
      ROUTER_MAX_RETRY_DELAY: 60,
      ROUTER_RETRY_EXPONENTIAL_BASE: 2,
      ROUTER_RETRY_JITTER: true,
      ROUTER_RETRY_CHECK_INTERVAL: 10,
      ROUTER_CLEANUP_INTERVAL: 300,
      ROUTER_CONFIRMATION_TTL: 3600,
      ROUTER_MAX_MESSAGE_SIZE: 16777216,
      ROUTER_MAX_PAYLOAD_SIZE: 15728640,
      RATE_LIMIT_PER_MINUTE: 6000,
      // A mailbox keeps its newest 10,000 messages for at most 30 days; broadcasts reach every
      // active mailbox.
      MAILBOX_MAX_MESSAGES: 10000,
      MAILBOX_MAX_AGE: 2592000,
      BROADCAST_ACTIVE_WITHIN: 0,
      // Acknowledged sends survive a restart unless this is turned `off`.
      OUTAGE_SPOOL_DIR: '.data/spool',
    });
    expect(variables.REDIS_CLUSTER_NODES).toBeUndefined();
    expect(variables.REDIS_SENTINELS).toBeUndefined();
    expect(variables.ADMIN_TOKEN).toBeUndefined();
  });

  it('treats empty strings as unset, so the defaults apply', () => {
    const variables = validateEnvironment({
      PORT: '',
      REDIS_URL: '',
      AUTH_ENABLED: '',
      ROUTER_MAX_RETRY_ATTEMPTS: '',
      ROUTER_RETRY_JITTER: '',
      REDIS_CLUSTER_NODES: '',
      ADMIN_TOKEN: '',
    });

    expect(variables.PORT).toBe(3000);
    expect(variables.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(variables.AUTH_ENABLED).toBe(true);
    expect(variables.ROUTER_MAX_RETRY_ATTEMPTS).toBe(3);
    expect(variables.ROUTER_RETRY_JITTER).toBe(true);
    expect(variables.REDIS_CLUSTER_NODES).toBeUndefined();
    expect(variables.ADMIN_TOKEN).toBeUndefined();
  });

  it('turns numeric strings into numbers', () => {
    const variables = validateEnvironment({
      PORT: '8080',
      ROUTER_MAX_RETRY_ATTEMPTS: '5',
      ROUTER_MAX_MESSAGE_SIZE: '2048',
      ROUTER_MAX_PAYLOAD_SIZE: '1024',
    });

    expect(variables.PORT).toBe(8080);
    expect(variables.ROUTER_MAX_RETRY_ATTEMPTS).toBe(5);
    expect(variables.ROUTER_MAX_MESSAGE_SIZE).toBe(2048);
    expect(variables.ROUTER_MAX_PAYLOAD_SIZE).toBe(1024);
  });

  it('accepts fractions of a second', () => {
    const variables = validateEnvironment({
      ROUTER_RETRY_CHECK_INTERVAL: '0.2',
      ROUTER_BASE_RETRY_DELAY: '0.5',
      ROUTER_MAX_RETRY_DELAY: '2.5',
      ROUTER_CLEANUP_INTERVAL: '0.75',
    });

    expect(variables.ROUTER_RETRY_CHECK_INTERVAL).toBe(0.2);
    expect(variables.ROUTER_BASE_RETRY_DELAY).toBe(0.5);
    expect(variables.ROUTER_MAX_RETRY_DELAY).toBe(2.5);
    expect(variables.ROUTER_CLEANUP_INTERVAL).toBe(0.75);
  });

  it('takes 0 as no retention limit and fractions of a second for the windows', () => {
    const variables = validateEnvironment({
      MAILBOX_MAX_MESSAGES: '0',
      MAILBOX_MAX_AGE: '0.5',
      BROADCAST_ACTIVE_WITHIN: '2.5',
    });

    expect(variables.MAILBOX_MAX_MESSAGES).toBe(0);
    expect(variables.MAILBOX_MAX_AGE).toBe(0.5);
    expect(variables.BROADCAST_ACTIVE_WITHIN).toBe(2.5);
  });

  it.each([
    ['false', false],
    ['0', false],
    ['true', true],
    ['1', true],
    ['FALSE', false],
  ])('reads the boolean %j as %j', (text, expected) => {
    const variables = validateEnvironment({ AUTH_ENABLED: text, ROUTER_RETRY_JITTER: text });

    expect(variables.AUTH_ENABLED).toBe(expected);
    expect(variables.ROUTER_RETRY_JITTER).toBe(expected);
  });

  it('keeps valid strings as given', () => {
    const variables = validateEnvironment({
      REDIS_URL: 'rediss://user:pw@redis.example:6380/2',
      REDIS_KEY_PREFIX: 'tenant-1.mail:',
      REDIS_CLUSTER_NODES: '10.0.0.1:7000,redis-2:7001',
      ADMIN_TOKEN: 'a'.repeat(16),
    });

    expect(variables.REDIS_URL).toBe('rediss://user:pw@redis.example:6380/2');
    expect(variables.REDIS_KEY_PREFIX).toBe('tenant-1.mail:');
    expect(variables.REDIS_CLUSTER_NODES).toBe('10.0.0.1:7000,redis-2:7001');
    expect(variables.ADMIN_TOKEN).toBe('a'.repeat(16));
  });

  it.each<[string, Record<string, string>, string]>([
    ['a port that is not a number', { PORT: 'abc' }, 'PORT'],
    ['a port above 65535', { PORT: '70000' }, 'PORT'],
    ['a fractional port', { PORT: '80.5' }, 'PORT'],
    ['a URL that is not redis://', { REDIS_URL: 'http://x' }, 'REDIS_URL'],
    ['a Redis port above 65535', { REDIS_URL: 'redis://h:99999' }, 'REDIS_URL'],
    ['a Redis port 0', { REDIS_URL: 'redis://h:0' }, 'REDIS_URL'],
    [
      'a cluster node port above 65535',
      { REDIS_CLUSTER_NODES: 'r1:7000,r2:70000' },
      'REDIS_CLUSTER_NODES',
    ],
    ['a sentinel port 0', { REDIS_SENTINELS: 's1:0' }, 'REDIS_SENTINELS'],
    ['a negative retry count', { ROUTER_MAX_RETRY_ATTEMPTS: '-1' }, 'ROUTER_MAX_RETRY_ATTEMPTS'],
    ['a boolean that is neither', { ROUTER_RETRY_JITTER: 'maybe' }, 'ROUTER_RETRY_JITTER'],
    ['an unknown NODE_ENV', { NODE_ENV: 'staging' }, 'NODE_ENV'],
    ['an unknown LOG_LEVEL', { LOG_LEVEL: 'trace' }, 'LOG_LEVEL'],
    [
      'a check interval of zero',
      { ROUTER_RETRY_CHECK_INTERVAL: '0' },
      'ROUTER_RETRY_CHECK_INTERVAL',
    ],
    ['a negative message limit', { MAILBOX_MAX_MESSAGES: '-1' }, 'MAILBOX_MAX_MESSAGES'],
    ['a fractional message limit', { MAILBOX_MAX_MESSAGES: '2.5' }, 'MAILBOX_MAX_MESSAGES'],
    ['a negative maximum age', { MAILBOX_MAX_AGE: '-1' }, 'MAILBOX_MAX_AGE'],
    ['a maximum age that is not a number', { MAILBOX_MAX_AGE: '30d' }, 'MAILBOX_MAX_AGE'],
    [
      'a confirmation lifetime above ten years',
      { ROUTER_CONFIRMATION_TTL: '315360001' },
      'ROUTER_CONFIRMATION_TTL',
    ],
    [
      'a broadcast window above ten years',
      { BROADCAST_ACTIVE_WITHIN: '315360001' },
      'BROADCAST_ACTIVE_WITHIN',
    ],
    ['a key prefix with braces', { REDIS_KEY_PREFIX: '{tenant}' }, 'REDIS_KEY_PREFIX'],
    ['a key prefix with a space', { REDIS_KEY_PREFIX: 'my prefix' }, 'REDIS_KEY_PREFIX'],
    ['cluster nodes without a port', { REDIS_CLUSTER_NODES: 'redis-1' }, 'REDIS_CLUSTER_NODES'],
    [
      'cluster nodes with an empty entry',
      { REDIS_CLUSTER_NODES: 'a:1,,b:2' },
      'REDIS_CLUSTER_NODES',
    ],
    ['cluster nodes split by spaces', { REDIS_CLUSTER_NODES: 'a:1 b:2' }, 'REDIS_CLUSTER_NODES'],
    ['a short admin token', { ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN'],
    [
      'a payload limit above the message limit',
      { ROUTER_MAX_MESSAGE_SIZE: '2048', ROUTER_MAX_PAYLOAD_SIZE: '4096' },
      'ROUTER_MAX_PAYLOAD_SIZE',
    ],
    [
      'a message limit below the default payload limit',
      { ROUTER_MAX_MESSAGE_SIZE: '1024' },
      'ROUTER_MAX_PAYLOAD_SIZE',
    ],
    [
      // A body of it would not fit in one JavaScript string (V8's longest: under 512 MiB).
      'a message limit above 256 MiB',
      { ROUTER_MAX_MESSAGE_SIZE: String(256 * 1024 * 1024 + 1) },
      'ROUTER_MAX_MESSAGE_SIZE',
    ],
    [
      'a payload limit above 256 MiB',
      { ROUTER_MAX_PAYLOAD_SIZE: String(512 * 1024 * 1024) },
      'ROUTER_MAX_PAYLOAD_SIZE',
    ],
    [
      'a base retry delay above the maximum',
      { ROUTER_BASE_RETRY_DELAY: '10', ROUTER_MAX_RETRY_DELAY: '5' },
      'ROUTER_BASE_RETRY_DELAY',
    ],
    [
      'a drain delay as long as the grace period',
      { SHUTDOWN_DRAIN_DELAY: '20', SHUTDOWN_GRACE_PERIOD: '20' },
      'SHUTDOWN_DRAIN_DELAY',
    ],
    [
      'a drain delay past the default grace period',
      { SHUTDOWN_DRAIN_DELAY: '30' },
      'SHUTDOWN_DRAIN_DELAY',
    ],
  ])('rejects %s with one line naming %s', (_case, raw, variable) => {
    const error = configurationErrorFor(raw);

    expect(error.message).not.toMatch(/[\r\n]/);
    expect(error.message).toContain(`${variable}=`);
  });

  it('says why a drain delay must be shorter than the grace period', () => {
    expect(
      configurationErrorFor({ SHUTDOWN_DRAIN_DELAY: '25', SHUTDOWN_GRACE_PERIOD: '25' }).message,
    ).toBe(
      'Invalid configuration: SHUTDOWN_DRAIN_DELAY=25: must be less than SHUTDOWN_GRACE_PERIOD (25), which counts the drain delay inside it',
    );
  });

  it('accepts a drain delay shorter than the grace period', () => {
    const variables = validateEnvironment({
      SHUTDOWN_DRAIN_DELAY: '5',
      SHUTDOWN_GRACE_PERIOD: '20',
    });

    expect(variables.SHUTDOWN_DRAIN_DELAY).toBe(5);
    expect(variables.SHUTDOWN_GRACE_PERIOD).toBe(20);
  });

  it('names every bad variable in one line when several are wrong', () => {
    const error = configurationErrorFor({ PORT: '70000', REDIS_URL: 'http://x' });

    expect(error.message).not.toMatch(/[\r\n]/);
    expect(error.message).toContain('PORT="70000"');
    expect(error.message).toContain('REDIS_URL=(hidden)');
  });

  it('states the rule that was broken', () => {
    expect(configurationErrorFor({ REDIS_URL: 'http://x' }).message).toContain(
      'must be a redis:// or rediss:// URL',
    );
    expect(configurationErrorFor({ PORT: '70000' }).message).toMatch(/PORT="70000": .*65535/);
    expect(
      configurationErrorFor({ ROUTER_MAX_MESSAGE_SIZE: '2048', ROUTER_MAX_PAYLOAD_SIZE: '4096' })
        .message,
    ).toContain('ROUTER_MAX_PAYLOAD_SIZE=4096: must not exceed ROUTER_MAX_MESSAGE_SIZE (2048)');
  });

  it('keeps a value with a newline on one line', () => {
    const error = configurationErrorFor({ REDIS_KEY_PREFIX: 'a\nb' });

    expect(error.message).not.toMatch(/[\r\n]/);
    expect(error.message).toContain('REDIS_KEY_PREFIX=');
  });

  it('shows the bad value as it was written', () => {
    expect(configurationErrorFor({ PORT: 'abc' }).message).toContain('PORT="abc"');
  });

  it('accepts a payload limit equal to the message limit and equal retry delays', () => {
    const variables = validateEnvironment({
      ROUTER_MAX_MESSAGE_SIZE: '4096',
      ROUTER_MAX_PAYLOAD_SIZE: '4096',
      ROUTER_BASE_RETRY_DELAY: '5',
      ROUTER_MAX_RETRY_DELAY: '5',
    });

    expect(variables.ROUTER_MAX_PAYLOAD_SIZE).toBe(4096);
    expect(variables.ROUTER_BASE_RETRY_DELAY).toBe(5);
  });

  it('refuses AUTH_ENABLED=false and a missing ADMIN_TOKEN in production', () => {
    expect(
      configurationErrorFor({
        NODE_ENV: 'production',
        AUTH_ENABLED: 'false',
        ADMIN_TOKEN: 'x'.repeat(32),
      }).message,
    ).toBe(
      'Invalid configuration: AUTH_ENABLED=false: not allowed when NODE_ENV=production (it opens every operation)',
    );
    expect(configurationErrorFor({ NODE_ENV: 'production' }).message).toMatch(
      /^Invalid configuration: ADMIN_TOKEN is not set/,
    );
    expect(
      validateEnvironment({ NODE_ENV: 'production', ADMIN_TOKEN: 'x'.repeat(32) }).AUTH_ENABLED,
    ).toBe(true);
  });

  it('never prints the value of ADMIN_TOKEN, even a malformed one', () => {
    const message = configurationErrorFor({ ADMIN_TOKEN: 'secret with spaces' }).message;
    expect(message).toContain('ADMIN_TOKEN=(hidden)');
    expect(message).not.toContain('secret');
  });
});

describe(configurationReference.name, () => {
  const validated = [
    ...new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(EnvironmentVariables, '', false, false)
        .map((metadata) => metadata.propertyName),
    ),
  ];

  it('documents every variable the service validates, once', () => {
    const names = configurationReference().map((entry) => entry.name);

    expect([...names].sort()).toEqual([...validated].sort());
  });

  it('lists the variables group by group, with the declared defaults', () => {
    const reference = configurationReference();
    const groups = reference.map((entry) => VARIABLE_GROUPS.indexOf(entry.group));

    expect(groups).toEqual([...groups].sort((a, b) => a - b));
    expect(reference.find((entry) => entry.name === 'PORT')?.defaultValue).toBe(3000);
    expect(reference.find((entry) => entry.name === 'ADMIN_TOKEN')?.defaultValue).toBeUndefined();
  });
});

describe('configuration reference rendering', () => {
  const entries: ConfigurationReferenceEntry[] = [
    { name: 'PORT', group: 'service', doc: 'HTTP port (0 to 65535)', defaultValue: 3000 },
    {
      name: 'LOG_FORMAT',
      group: 'service',
      doc: '`json` or `pretty`. See [Logs](monitoring.md#logs)',
      whenUnset: '`pretty` in development',
      defaultValue: undefined,
    },
    {
      name: 'REDIS_KEY_PREFIX',
      group: 'redis',
      doc: 'prefixed to every key | channel',
      defaultValue: '',
    },
  ];

  it('renders a table row per variable, escaping pipes', () => {
    expect(renderer.renderTable(entries).split('\n')).toEqual([
      '| variable | default | meaning |',
      '| --- | --- | --- |',
      '| `PORT` | `3000` | HTTP port (0 to 65535) |',
      '| `LOG_FORMAT` | `pretty` in development | `json` or `pretty`. See [Logs](monitoring.md#logs) |',
      '| `REDIS_KEY_PREFIX` | empty | prefixed to every key \\| channel |',
    ]);
  });

  it('writes .env.example in plain text, groups apart, a variable without a default commented out', () => {
    const lines = renderer.renderEnvExample(entries).split('\n');

    expect(lines.slice(lines.indexOf('PORT=3000') - 2)).toEqual([
      '',
      '# HTTP port (0 to 65535).',
      'PORT=3000',
      '# json or pretty. See Logs (docs/operations/monitoring.md#logs). Unset: pretty in development.',
      '# LOG_FORMAT=',
      '',
      '# Prefixed to every key | channel.',
      'REDIS_KEY_PREFIX=',
      '',
    ]);
  });

  it('replaces only the text between the markers, and refuses a document without them', () => {
    const document = [
      'before',
      '<!-- config-reference:start -->',
      'old table',
      '<!-- config-reference:end -->',
      'after',
    ].join('\n');

    const updated = renderer.replaceBetweenMarkers(document, 'new table');

    expect(updated).toMatch(/^before\n<!-- config-reference:start -->\n/);
    expect(updated).toContain('\n\nnew table\n\n<!-- config-reference:end -->\nafter');
    expect(updated).not.toContain('old table');
    expect(() => renderer.replaceBetweenMarkers('no markers', 'new table')).toThrow(
      'config-reference:start',
    );
  });
});
