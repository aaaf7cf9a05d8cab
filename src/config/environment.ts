import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  validateSync,
  type ValidationError,
} from 'class-validator';

import { RENDERABLE_JSON_DEPTH } from '../common/json-depth';

const toNumber = ({ value }: { value: unknown }): unknown =>
  typeof value === 'string' && value.trim() !== '' ? Number(value) : value;

const toBoolean = ({ value }: { value: unknown }): unknown => {
  if (typeof value !== 'string') return value;
  const normalized = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(normalized)) return true;
  if (['false', '0', 'no', 'off'].includes(normalized)) return false;
  return value;
};

/** A TCP port, 1 to 65535. */
const PORT = '(?:6553[0-5]|655[0-2]\\d|65[0-4]\\d{2}|6[0-4]\\d{3}|[1-5]\\d{4}|[1-9]\\d{0,3})';
const HOST_PORT_LIST = new RegExp(`^[^\\s,:]+:${PORT}(,[^\\s,:]+:${PORT})*$`);
/** A message-signing key: it may later be listed among the comma-separated old keys. */
/**
 * The largest message or content: a body is read into one JavaScript string, and V8's
 * longest is just under 512 MiB, less than a body of 512 MiB with its envelope.
 */
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;
const SIGNING_KEY = /^[^\s,]{32,1024}$/;
const SIGNING_KEY_LIST = /^[^\s,]{32,1024}(,[^\s,]{32,1024})*$/;

/**
 * The sections of the configuration reference, in the order it lists them: `.env.example`
 * separates them with a blank line.
 */
export const VARIABLE_GROUPS = [
  'service',
  'redis',
  'auth',
  'signing',
  'retries',
  'retention',
  'limits',
  'outages',
  'shutdown',
  'mcp',
  'safety',
  'console',
] as const;

export type VariableGroup = (typeof VARIABLE_GROUPS)[number];

/** What the configuration reference says about one variable. */
export interface VariableDocumentation {
  readonly name: keyof EnvironmentVariables;
  readonly group: VariableGroup;
  /**
   * Markdown, one sentence or a few: the "meaning" column of docs/operations/configuration.md.
   * Relative links resolve from docs/operations/.
   */
  readonly doc: string;
  /** Markdown: what an unset variable without a declared default means instead. */
  readonly whenUnset?: string;
}

// Filled in declaration order as the class below is defined, like class-validator's own
// metadata; read only through configurationReference().
const documentation: VariableDocumentation[] = [];

/**
 * Documents a variable next to its rule and default. These texts are the single source of
 * docs/operations/configuration.md and .env.example (`npm run docs:config`).
 */
function Documented(group: VariableGroup, doc: string, options: { whenUnset?: string } = {}) {
  return (_prototype: object, name: keyof EnvironmentVariables): void => {
    documentation.push({ name, group, doc, ...options });
  };
}

/**
 * Every environment variable the service reads, with what it means, its rule and its default.
 * docs/operations/configuration.md and .env.example are generated from these declarations.
 */
export class EnvironmentVariables {
  @Documented(
    'service',
    '`development`, `production` or `test`. Production requires `ADMIN_TOKEN`, turns ' +
      'introspection and HTTP field suggestions off, and does not rewrite `schema.gql`',
  )
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Documented('service', 'HTTP and WebSocket port (0 to 65535)')
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @Documented(
    'service',
    'processes serving the port together, each a whole instance of the service on the same ' +
      'Redis, under one supervisor that restarts a worker that dies: 1 to 64, or `auto` for ' +
      "one per CPU core (at most 64, and no more than a container's CPU limit). `npm start` " +
      'and the container image use `auto` when it is unset. See [Workers](scaling.md#workers)',
  )
  @Matches(/^(auto|[1-9]|[1-5][0-9]|6[0-4])$/, {
    message: 'must be a whole number from 1 to 64, or auto',
  })
  WORKERS = '1';

  @Documented(
    'redis',
    'the Redis to use (`redis://` or `rediss://`, with user and password if needed, and a ' +
      'database as its path: `redis://127.0.0.1:6379/2`). Redis delivers a publish to the ' +
      "subscribers of every database, so on a database other than 0 the service's channel " +
      'names carry `db<N>:` after the prefix, and deployments that share one Redis by database ' +
      'number keep their live messages apart. With `REDIS_CLUSTER_NODES` or `REDIS_SENTINELS` ' +
      'set, only its user, password and `rediss://` (TLS) are used',
  )
  @IsString()
  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @Documented('redis', 'prefixed to every key and channel; at most 64 of `A-Z a-z 0-9 _ . : -`')
  @IsString()
  @Matches(/^[A-Za-z0-9_.:-]{0,64}$/, {
    message: 'must be at most 64 characters of letters, digits, _ . : -',
  })
  REDIS_KEY_PREFIX = '';

  @Documented(
    'redis',
    '`host:port,host:port,...`: use Redis Cluster (Redis 7 or later) through these seed ' +
      'nodes; wins over `REDIS_SENTINELS`. See [Scaling out](scaling.md)',
  )
  @IsOptional()
  @IsString()
  @Matches(HOST_PORT_LIST, { message: 'must be host:port[,host:port...], each port 1 to 65535' })
  REDIS_CLUSTER_NODES?: string;

  @Documented(
    'redis',
    '`host:port,...`: use Redis Sentinel: the sentinels name the current primary. See ' +
      '[Scaling out](scaling.md)',
  )
  @IsOptional()
  @IsString()
  @Matches(HOST_PORT_LIST, { message: 'must be host:port[,host:port...], each port 1 to 65535' })
  REDIS_SENTINELS?: string;

  @Documented('redis', 'the Sentinel master name')
  @IsString()
  @Matches(/^[A-Za-z0-9_.-]{1,128}$/, { message: 'must be a Sentinel master name' })
  REDIS_SENTINEL_MASTER = 'mymaster';

  @Documented(
    'redis',
    'seconds a command on the command connection may take before it fails (0.05 to 300). ' +
      'Commands are not queued while that connection is down: they fail at once. See ' +
      '[When things fail](failure-modes.md)',
  )
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.05)
  @Max(300)
  REDIS_COMMAND_TIMEOUT = 5;

  @Documented(
    'redis',
    "replicas that must hold a send's writes before the send is answered as routed (0 to 16; " +
      'on Cluster, replicas of every primary). `0`: no waiting. Otherwise the send is answered ' +
      '`QUEUED` and kept in the local queue until they do. See ' +
      '[Waiting for replicas](scaling.md#waiting-for-replicas)',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(16)
  REDIS_WAIT_REPLICAS = 0;

  @Documented('redis', 'seconds one `WAIT` for those replicas may take (0.01 to 60)')
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  @Max(60)
  REDIS_WAIT_TIMEOUT = 1;

  @Documented(
    'auth',
    '`false` turns every token check and the rate limit off: every caller acts as the admin. ' +
      'For development only: with `NODE_ENV=production` the service refuses to start (see ' +
      '[Tokens](../security.md#tokens))',
  )
  @Transform(toBoolean)
  @IsBoolean()
  AUTH_ENABLED = true;

  @Documented(
    'auth',
    'the operator token, 16 to 256 characters without spaces. Unset: outside production, a ' +
      'token is generated at each start and shown once, in the start block; with ' +
      '`NODE_ENV=production` (and `AUTH_ENABLED=true`), the service refuses to start. See ' +
      '[Tokens](../security.md#tokens)',
  )
  @IsOptional()
  @IsString()
  @Matches(/^\S{16,256}$/, { message: 'must be 16 to 256 characters without spaces' })
  ADMIN_TOKEN?: string;

  @Documented(
    'signing',
    'the secret every message signature is made with (`Message.signature`, ' +
      '`verifyMessage`): 32 to 1024 characters without spaces or commas. Never logged. Every ' +
      'instance must have the same one; `rotateSigningKey` works only while it is unset. See ' +
      '[Provenance](../concepts/provenance.md#keys)',
    { whenUnset: 'a random key, generated once by the first instance and kept in Redis' },
  )
  @IsOptional()
  @IsString()
  @Matches(SIGNING_KEY, { message: 'must be 32 to 1024 characters without spaces or commas' })
  MESSAGE_SIGNING_KEY?: string;

  @Documented(
    'signing',
    'earlier values of `MESSAGE_SIGNING_KEY`, comma-separated: messages signed with them still ' +
      'verify; a generated key as `<kid>:base64url:<secret>` (read from Redis only while ' +
      '`MESSAGE_SIGNING_KEY` is unset). Never logged. See ' +
      '[Rotation](../concepts/provenance.md#rotation)',
  )
  @IsOptional()
  @IsString()
  @Matches(SIGNING_KEY_LIST, {
    message: 'must be keys of 32 to 1024 characters without spaces or commas, separated by commas',
  })
  MESSAGE_SIGNING_OLD_KEYS?: string;

  @Documented(
    'retries',
    'retries after the first delivery attempt (0 to 100); a delivery gets 1 + this many ' +
      'attempts',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(100)
  ROUTER_MAX_RETRY_ATTEMPTS = 3;

  @Documented(
    'retries',
    'seconds: `BASE` in the retry formula, the longest wait after attempt 1 (0 to 86400; at ' +
      'most `ROUTER_MAX_RETRY_DELAY`)',
  )
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(86400)
  ROUTER_BASE_RETRY_DELAY = 1.0;

  @Documented('retries', 'seconds: `MAX`, the upper bound of any retry wait (0 to 86400)')
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(86400)
  ROUTER_MAX_RETRY_DELAY = 60.0;

  @Documented(
    'retries',
    '`EXP`: the wait after attempt n is `min(BASE * EXP^(n-1), MAX)` seconds (1 to 100)',
  )
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(1)
  @Max(100)
  ROUTER_RETRY_EXPONENTIAL_BASE = 2.0;

  @Documented(
    'retries',
    'draw each wait uniformly from `[0, min(BASE * EXP^(n-1), MAX)]` (full jitter); `false`: ' +
      'wait exactly that long',
  )
  @Transform(toBoolean)
  @IsBoolean()
  ROUTER_RETRY_JITTER = true;

  @Documented(
    'retries',
    'seconds between runs of the retry loop (0.01 to 86400); retries and expiry decisions ' +
      'happen on these runs',
  )
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  @Max(86400)
  ROUTER_RETRY_CHECK_INTERVAL = 10.0;

  @Documented(
    'retries',
    'seconds between runs of the cleanup loop (0.01 to 86400), which removes expired messages ' +
      'from every index, empties deleted mailboxes, trims mailboxes to ' +
      '`MAILBOX_MAX_MESSAGES` and `MAILBOX_MAX_AGE` and topics to `TOPIC_MAX_MESSAGES`',
  )
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.01)
  @Max(86400)
  ROUTER_CLEANUP_INTERVAL = 300.0;

  @Documented(
    'retries',
    'seconds a confirmation is kept after its last recipient finished (0 to 315360000; `0`: ' +
      'removed at once)',
  )
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(315_360_000)
  ROUTER_CONFIRMATION_TTL = 3600;

  @Documented(
    'retention',
    'messages a mailbox keeps (0 to 1000000000; `0`: no limit): the cleanup loop trims each ' +
      "mailbox's index to its newest this many, on each run, so a mailbox may hold more " +
      'between runs. See [Retention](../concepts/retention.md)',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  MAILBOX_MAX_MESSAGES = 10_000;

  @Documented(
    'retention',
    'seconds a message stays in a mailbox after it was sent (0 to 315360000, ten years; `0`: ' +
      'no limit): the cleanup loop drops older entries on each run. A message sent with ' +
      '`ttlSeconds` goes at its expiry if that comes first. A TOPIC message leaves its ' +
      "topic's history this long after it was sent too (sent while this is set). See " +
      '[Retention](../concepts/retention.md)',
  )
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(315_360_000)
  MAILBOX_MAX_AGE = 30 * 86_400;

  @Documented(
    'retention',
    'messages a topic keeps (0 to 1000000000; `0`: no limit): the cleanup loop trims each ' +
      "topic's history to its newest this many, on each run, so a topic may hold more between " +
      'runs. See [Retention](../concepts/retention.md#topic-histories)',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(1_000_000_000)
  TOPIC_MAX_MESSAGES = 10_000;

  @Documented(
    'retention',
    'seconds (0 to 315360000): a BROADCAST reaches only the active mailboxes seen (sending, ' +
      'reading or subscribing, or registered) within this long, so that abandoned agents stop ' +
      'collecting copies. `0`: every active mailbox. See ' +
      '[Broadcasts and stale mailboxes](../concepts/retention.md#broadcasts-and-stale-mailboxes)',
  )
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(315_360_000)
  BROADCAST_ACTIVE_WITHIN = 0;

  @Documented(
    'limits',
    'bytes, whole message (1024 to 256 MiB: a body must fit in one JavaScript string); the ' +
      'HTTP body and WebSocket frame limit is this + 64 KiB',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(1024)
  @Max(MAX_MESSAGE_BYTES)
  ROUTER_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;

  @Documented('limits', 'bytes of `content` (1 to 256 MiB); at most `ROUTER_MAX_MESSAGE_SIZE`')
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(MAX_MESSAGE_BYTES)
  ROUTER_MAX_PAYLOAD_SIZE = 15 * 1024 * 1024;

  @Documented(
    'limits',
    'operations per minute per mailbox token (a token bucket in Redis, shared by all ' +
      'instances; `sendMessages` costs one per input); `0` turns it off; the admin token is not ' +
      'limited. See [Limits](../security.md#limits)',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  RATE_LIMIT_PER_MINUTE = 6000;

  @Documented('limits', 'subscriptions one WebSocket connection may hold at once (1 to 10000)')
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(10000)
  SUBSCRIPTIONS_PER_SOCKET = 100;

  @Documented(
    'limits',
    'nesting of any JSON input value, such as `metadata` (1 to 1000); deeper: ' +
      '`BAD_USER_INPUT`. See [JSON depth](../security.md#json-depth)',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(RENDERABLE_JSON_DEPTH)
  ROUTER_MAX_JSON_DEPTH = 32;

  @Documented(
    'limits',
    'tokens the GraphQL parser reads before it refuses a document (100 to 1000000). See ' +
      '[Document size and tokens](../security.md#document-size-and-tokens)',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(100)
  @Max(1_000_000)
  GRAPHQL_MAX_TOKENS = 10_000;

  @Documented(
    'limits',
    'bytes of one GraphQL document, the query text, not its variables (1 KiB to 512 MiB). See ' +
      '[Document size and tokens](../security.md#document-size-and-tokens)',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(1024)
  @Max(512 * 1024 * 1024)
  GRAPHQL_MAX_DOCUMENT_BYTES = 1024 * 1024;

  @Documented(
    'limits',
    'bytes a WebSocket may hold unsent because its reader is slow (64 KiB to 1 GiB); a ' +
      'connection that stays past it is closed. See [Slow readers](../security.md#slow-readers)',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(64 * 1024)
  @Max(1024 * 1024 * 1024)
  WS_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

  @Documented(
    'retries',
    'seconds a claimed delivery stays claimed by the instance that took it (0.1 to 3600). If ' +
      'that instance dies, the delivery falls due again after this long and another instance ' +
      'takes it',
  )
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.1)
  @Max(3600)
  ROUTER_RETRY_LEASE = 30;

  @Documented(
    'outages',
    'sends one instance accepts into its local queue while Redis is unreachable (0 to ' +
      '10000000); one more gets `SERVICE_UNAVAILABLE`. `0`: no queue, every send fails while ' +
      'Redis is unreachable',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(10_000_000)
  OUTAGE_QUEUE_SIZE = 10000;

  @Documented(
    'outages',
    "bytes of sends one instance's local queue holds (1048576 to 402653184, 384 MiB), counted " +
      'as their spool lines: about what they take on disk and in memory. One more gets ' +
      '`SERVICE_UNAVAILABLE`. Keeps a burst of large sends during an outage from exhausting ' +
      "the process's memory, and its spool readable at the next start",
  )
  @Transform(toNumber)
  @IsInt()
  @Min(1024 * 1024)
  @Max(384 * 1024 * 1024)
  OUTAGE_QUEUE_BYTES = 256 * 1024 * 1024;

  @Documented(
    'outages',
    "the directory (created if missing) of the local queue's spool: each queued send is " +
      'fsynced there before it is acknowledged, and survives a restart. Instances may share the ' +
      'directory: each writes its own file, and takes over the files of instances that are ' +
      'gone. A relative path is under the working directory; `off`: memory only (a queued send ' +
      'is lost if the process stops). See [The spool](failure-modes.md#the-spool)',
  )
  @IsString()
  OUTAGE_SPOOL_DIR = '.data/spool';

  @Documented(
    'outages',
    'seconds the Redis circuit stays open before a probe may close it (0.05 to 60)',
  )
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.05)
  @Max(60)
  REDIS_BREAKER_COOLDOWN = 1;

  @Documented(
    'shutdown',
    'seconds from SIGTERM until the process exits even if shutdown has not finished (0.5 to ' +
      '3600; exit code 1 then). `SHUTDOWN_DRAIN_DELAY` counts inside it, and must be shorter',
  )
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0.5)
  @Max(3600)
  SHUTDOWN_GRACE_PERIOD = 25;

  @Documented(
    'shutdown',
    'seconds the service keeps serving after SIGTERM (readiness already 503) before it starts ' +
      'closing, so that load balancers stop sending to it (0 to 600; less than ' +
      '`SHUTDOWN_GRACE_PERIOD`, which it counts inside)',
  )
  @Transform(toNumber)
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(600)
  SHUTDOWN_DRAIN_DELAY = 0;

  @Documented(
    'service',
    'the most verbose log level shown: `error`, `warn`, `log`, `debug` or `verbose`',
  )
  @IsIn(['error', 'warn', 'log', 'debug', 'verbose'])
  LOG_LEVEL: 'error' | 'warn' | 'log' | 'debug' | 'verbose' = 'log';

  @Documented(
    'service',
    '`json`: one JSON object a line (every line parses); `pretty`: readable lines. See ' +
      '[Logs](monitoring.md#logs)',
    { whenUnset: '`pretty` when `NODE_ENV=development`, else `json`' },
  )
  @IsOptional()
  @IsIn(['json', 'pretty'])
  LOG_FORMAT?: 'json' | 'pretty';

  @Documented(
    'service',
    '`true`: every message that reaches a mailbox is indexed for `searchMessages`. Off by ' +
      'default, because indexing costs a send about one sorted-set write per distinct word. ' +
      'While off, `searchMessages` is refused (`FORBIDDEN`) and messages stored meanwhile are ' +
      'never found. See [Search](../concepts/search.md)',
  )
  @Transform(toBoolean)
  @IsBoolean()
  SEARCH_ENABLED = false;

  @Documented(
    'safety',
    'the deepest reply chain: a message whose `hop` would pass it is refused with ' +
      '`LOOP_DETECTED` (1 to 1000). See [Agent safety](../concepts/safety.md#loops)',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(1)
  @Max(1000)
  ROUTER_MAX_HOPS = 8;

  @Documented(
    'safety',
    'replies that may reach one mailbox in one thread before the next is refused with ' +
      '`LOOP_DETECTED`, until the admin posts in the thread (0 turns it off). See ' +
      '[Agent safety](../concepts/safety.md#loops)',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(100000)
  ROUTER_MAX_VISITS = 3;

  @Documented(
    'safety',
    'DIRECT messages from one mailbox to another in any sliding minute, shared by every ' +
      'instance; above it `RATE_LIMITED` (0 turns it off). See ' +
      '[Agent safety](../concepts/safety.md#storms)',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(1000000)
  PAIR_RATE_LIMIT_PER_MINUTE = 60;

  @Documented(
    'safety',
    'seconds during which the same body from the same sender to the same mailbox is refused ' +
      'as `DUPLICATE`, unless sent with an `idempotencyKey` (0 turns it off). See ' +
      '[Agent safety](../concepts/safety.md#storms)',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  @Max(86400)
  DUPLICATE_WINDOW = 600;

  @Documented(
    'safety',
    'tokens (estimated, o200k) a mailbox may send per UTC day unless it has a budget of its ' +
      'own (`setMailboxBudget`); past it `BUDGET_EXHAUSTED` (0: no daily budget). See ' +
      '[Agent safety](../concepts/safety.md#budgets)',
  )
  @Transform(toNumber)
  @IsInt()
  @Min(0)
  MAILBOX_DAILY_TOKEN_BUDGET = 0;

  @Documented(
    'mcp',
    '`false` turns the MCP endpoint (`/mcp`) off: it then answers 404. See ' +
      '[The MCP endpoint](../guides/mcp.md)',
  )
  @Transform(toBoolean)
  @IsBoolean()
  MCP_ENABLED = true;

  @Documented(
    'mcp',
    "comma-separated host names whose browser pages may call `/mcp` (the `Origin` header's " +
      'host, any port, IPv6 with or without brackets; `*` for any). A request with another `Origin` is refused with 403, ' +
      'against DNS rebinding; clients that send no `Origin` (every MCP client outside a ' +
      'browser) are not affected. The same list decides which pages may open a GraphQL ' +
      "WebSocket, besides, with authentication on, the service's own (an `Origin` equal to " +
      "the request's `Host`)",
  )
  @IsString()
  @Matches(/^(\*|[A-Za-z0-9.\-[\]:]+(,[A-Za-z0-9.\-[\]:]+)*)$/, {
    message: 'must be * or host names separated by commas',
  })
  MCP_ALLOWED_ORIGINS = 'localhost,127.0.0.1,::1';

  @Documented(
    'console',
    '`false` turns the operator console (`/console`, `/console/graphiql`) off: it then answers ' +
      '404. The console signs in with the admin token. See ' +
      '[The operator console](../guides/console.md)',
  )
  @Transform(toBoolean)
  @IsBoolean()
  CONSOLE_ENABLED = true;
}

const SECRET_VARIABLES = new Set([
  'ADMIN_TOKEN',
  // It may carry a password.
  'REDIS_URL',
  'MESSAGE_SIGNING_KEY',
  'MESSAGE_SIGNING_OLD_KEYS',
]);

function describe(error: ValidationError, raw: Record<string, unknown>): string {
  const rules = Object.values(error.constraints ?? {}).map((text) =>
    // class-validator words its messages "PROPERTY must ..."; the variable is named once, up front.
    text.startsWith(`${error.property} `) ? text.slice(error.property.length + 1) : text,
  );
  // The value as written: a conversion may have turned 'abc' into NaN, which prints as null.
  // Secrets are never printed, not even malformed ones.
  const shown = SECRET_VARIABLES.has(error.property)
    ? '(hidden)'
    : JSON.stringify(raw[error.property]);
  return `${error.property}=${shown}: ${rules.join('; ')}`;
}

/** One variable as the configuration reference shows it. */
export interface ConfigurationReferenceEntry extends VariableDocumentation {
  /** The declared default; undefined when the variable has none. */
  readonly defaultValue: string | number | boolean | undefined;
}

/**
 * Every variable with its documentation and default, group by group in VARIABLE_GROUPS
 * order and in declaration order within a group. scripts/config-reference.js renders it.
 */
export function configurationReference(): ConfigurationReferenceEntry[] {
  const defaults = new EnvironmentVariables();
  return VARIABLE_GROUPS.flatMap((group) =>
    documentation
      .filter((entry) => entry.group === group)
      .map((entry) => ({ ...entry, defaultValue: defaults[entry.name] })),
  );
}

/** Thrown at start when an environment variable breaks its rule; the message is one line. */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/**
 * Validates the raw environment and returns the typed variables. Empty strings count as
 * unset, so `PORT=` in a .env file means the default rather than an error.
 */
export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const present = Object.fromEntries(
    Object.entries(raw).filter(([, value]) => value !== undefined && value !== ''),
  );
  const variables = plainToInstance(EnvironmentVariables, present, {
    exposeDefaultValues: true,
  });
  const errors = validateSync(variables, { skipMissingProperties: false });
  if (errors.length > 0) {
    throw new ConfigurationError(
      `Invalid configuration: ${errors.map((error) => describe(error, present)).join(' | ')}`,
    );
  }
  if (!isRedisUrl(variables.REDIS_URL)) {
    // Not echoed: the URL may hold a password.
    throw new ConfigurationError(
      'Invalid configuration: REDIS_URL=(hidden): must be a URL whose port, if given, is 1 to 65535',
    );
  }
  if (variables.ROUTER_MAX_PAYLOAD_SIZE > variables.ROUTER_MAX_MESSAGE_SIZE) {
    throw new ConfigurationError(
      `Invalid configuration: ROUTER_MAX_PAYLOAD_SIZE=${variables.ROUTER_MAX_PAYLOAD_SIZE}: must not exceed ROUTER_MAX_MESSAGE_SIZE (${variables.ROUTER_MAX_MESSAGE_SIZE})`,
    );
  }
  if (variables.NODE_ENV === 'production' && !variables.AUTH_ENABLED) {
    throw new ConfigurationError(
      'Invalid configuration: AUTH_ENABLED=false: not allowed when NODE_ENV=production (it opens every operation)',
    );
  }
  if (variables.NODE_ENV === 'production' && variables.AUTH_ENABLED && !variables.ADMIN_TOKEN) {
    throw new ConfigurationError(
      'Invalid configuration: ADMIN_TOKEN is not set: it is required when NODE_ENV=production and AUTH_ENABLED=true',
    );
  }
  if (variables.ROUTER_BASE_RETRY_DELAY > variables.ROUTER_MAX_RETRY_DELAY) {
    throw new ConfigurationError(
      `Invalid configuration: ROUTER_BASE_RETRY_DELAY=${variables.ROUTER_BASE_RETRY_DELAY}: must not exceed ROUTER_MAX_RETRY_DELAY (${variables.ROUTER_MAX_RETRY_DELAY})`,
    );
  }
  // The grace period counts from the signal, the drain delay included: a drain as long would
  // end in the grace period's exit (code 1) before anything was closed.
  if (variables.SHUTDOWN_DRAIN_DELAY >= variables.SHUTDOWN_GRACE_PERIOD) {
    throw new ConfigurationError(
      `Invalid configuration: SHUTDOWN_DRAIN_DELAY=${variables.SHUTDOWN_DRAIN_DELAY}: must be less than SHUTDOWN_GRACE_PERIOD (${variables.SHUTDOWN_GRACE_PERIOD}), which counts the drain delay inside it`,
    );
  }
  return variables;
}

function isRedisUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.port !== '0';
  } catch {
    return false;
  }
}

/** The process environment; the one place outside tests that reads it. */
export function processEnvironment(): Record<string, string | undefined> {
  return process.env;
}
