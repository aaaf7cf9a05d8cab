import { parseArgs } from 'node:util';
import { UsageError } from './cli.errors';

export const DEFAULT_URL = 'http://127.0.0.1:3000';

export type CommandName = 'send' | 'reply' | 'inbox' | 'search' | 'read' | 'wait' | 'tail' | 'ack';

interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The placeholder of a string flag's value in help. */
  value?: string;
  help: string;
}

interface CommandSpec {
  name: CommandName;
  /** What follows the command name on the usage line. */
  arguments: string;
  summary: string;
  details: string[];
  flags: Record<string, FlagSpec>;
}

const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  url: { type: 'string', value: 'URL', help: `the service (MAILBOX_URL; default ${DEFAULT_URL})` },
  token: {
    type: 'string',
    value: 'TOKEN',
    help: 'sent as "Authorization: Bearer TOKEN" (MAILBOX_TOKEN)',
  },
  mailbox: { type: 'string', value: 'NAME', help: 'your own mailbox (MAILBOX_NAME)' },
  json: {
    type: 'boolean',
    help: 'machine output: one JSON document, or one JSON line per message (wait, tail)',
  },
  help: { type: 'boolean', short: 'h', help: 'show help' },
};

const MESSAGE_FLAGS: Record<string, FlagSpec> = {
  subject: { type: 'string', value: 'TEXT', help: 'a subject line' },
  'reply-within': {
    type: 'string',
    value: 'SECONDS',
    help: 'make it a request: a reply is expected within SECONDS (1 to 86400)',
  },
  ack: { type: 'boolean', help: 'ask the recipient to acknowledge it (mailbox ack)' },
  'idempotency-key': {
    type: 'string',
    value: 'KEY',
    help: 'the same key again within 24 hours returns the first message id, sending nothing',
  },
};

const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'send',
    arguments: '<to> [body...]',
    summary: 'send a message to mailbox <to> (or to a topic, or to everyone)',
    details: [
      'Sends DIRECT to mailbox <to>. With --topic or --broadcast there is no <to>.',
      'The body is the remaining arguments joined by spaces. With "-" as the body, or none',
      'while stdin is not a terminal, the body is stdin, sent as it is.',
      'Prints the message id, its thread id and the routing status.',
    ],
    flags: {
      topic: { type: 'string', value: 'TOPIC', help: 'send to a topic (agents.planner.status)' },
      broadcast: { type: 'boolean', help: 'send to every active mailbox but yours' },
      thread: { type: 'string', value: 'ID', help: 'the conversation it belongs to' },
      ...MESSAGE_FLAGS,
    },
  },
  {
    name: 'reply',
    arguments: '<message-id> [body...]',
    summary: 'answer a message: the reply goes to its sender, in its thread',
    details: [
      'Sends DIRECT to the sender of <message-id>, in the same thread. The body is taken as',
      'for send.',
    ],
    flags: { ...MESSAGE_FLAGS },
  },
  {
    name: 'inbox',
    arguments: '',
    summary: 'list your messages (unread ones unless --all), newest first',
    details: [
      'One header line and a one-line preview per message, newest first, and the unread',
      'count. Nothing is marked read: use mailbox read.',
    ],
    flags: {
      all: { type: 'boolean', help: 'read messages too' },
      limit: { type: 'string', value: 'N', help: 'at most N messages, 1 to 500 (default 20)' },
      thread: { type: 'string', value: 'ID', help: 'only this thread' },
    },
  },
  {
    name: 'search',
    arguments: '<words...>',
    summary: 'find your messages holding every word, newest first',
    details: [
      'Searches the subject and body of the messages in your mailbox for every word given',
      '(in any case), newest first: one header line and a one-line preview per message. Needs',
      'SEARCH_ENABLED=true on the service. Nothing is marked read: use mailbox read.',
    ],
    flags: {
      limit: { type: 'string', value: 'N', help: 'at most N messages, 1 to 100 (default 20)' },
      thread: { type: 'string', value: 'ID', help: 'only this thread' },
      after: { type: 'string', value: 'ID', help: 'the next page: the id the last one ended at' },
    },
  },
  {
    name: 'read',
    arguments: '<message-id...>',
    summary: 'print whole messages, or a thread, and mark them read',
    details: [
      'Prints each message with its whole body, in the order given (a thread: oldest first),',
      'and marks the ones in your mailbox read.',
    ],
    flags: {
      thread: { type: 'string', value: 'ID', help: 'read the whole thread instead' },
      'no-mark': { type: 'boolean', help: 'leave them unread' },
    },
  },
  {
    name: 'wait',
    arguments: '',
    summary: 'wait for an unread message; exit 2 on timeout',
    details: [
      'Prints the unread messages that match and exits at once when there are any; else',
      'waits for the next one to arrive. Exits 2 with "timeout" when none came in time.',
      'Nothing is marked read: use mailbox read.',
    ],
    flags: {
      timeout: {
        type: 'string',
        value: 'SECONDS',
        help: 'how long to wait (default 20, at most 86400)',
      },
      thread: { type: 'string', value: 'ID', help: 'only messages of this thread' },
      from: { type: 'string', value: 'MAILBOX', help: 'only messages from this mailbox' },
    },
  },
  {
    name: 'tail',
    arguments: '',
    summary: 'print messages as they arrive, until Ctrl-C',
    details: [
      'Follows your mailbox, or with --topic every topic the pattern matches (* is one',
      'segment, # zero or more), until SIGINT or SIGTERM.',
    ],
    flags: {
      after: {
        type: 'string',
        value: 'ID',
        help: 'first the stored messages after this id ("0": from the start)',
      },
      topic: { type: 'string', value: 'PATTERN', help: 'follow topics instead of your mailbox' },
    },
  },
  {
    name: 'ack',
    arguments: '<message-id...>',
    summary: 'acknowledge messages that were sent with --ack',
    details: [
      'Confirms the delivery of each message to your mailbox, each on its own: one the service',
      'refuses is reported on its line (exit 1), and the others are still confirmed.',
    ],
    flags: {},
  },
];

const GENERAL_USAGE = 'mailbox <command> [arguments] [flags]   (mailbox --help lists them)';

/** A command's flags as given, with typed readers that reject bad values as usage errors. */
export class Flags {
  constructor(
    private readonly values: Record<string, string | boolean | undefined>,
    /** The command's usage line. */
    readonly usage: string,
  ) {}

  string(name: string): string | null {
    const value = this.values[name];
    return typeof value === 'string' ? value : null;
  }

  boolean(name: string): boolean {
    return this.values[name] === true;
  }

  /** A whole number from `min` to `max`; `fallback` when the flag is absent. */
  integer(name: string, min: number, max: number, fallback: number): number;
  integer(name: string, min: number, max: number): number | null;
  integer(name: string, min: number, max: number, fallback?: number): number | null {
    const text = this.string(name);
    if (text === null) return fallback ?? null;
    const value = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(value >= min && value <= max)) {
      throw new UsageError(
        `--${name}: ${JSON.stringify(text)} is not a whole number from ${min} to ${max}`,
        this.usage,
      );
    }
    return value;
  }

  /** A number of seconds from 0 to `max`, fractions allowed; `fallback` when absent. */
  seconds(name: string, fallback: number, max: number): number {
    const text = this.string(name);
    if (text === null) return fallback;
    if (!/^\d+(\.\d+)?$/.test(text)) {
      throw new UsageError(
        `--${name}: ${JSON.stringify(text)} is not a number of seconds`,
        this.usage,
      );
    }
    const seconds = Number(text);
    if (seconds > max) {
      throw new UsageError(`--${name}: ${text} is more than ${max} seconds`, this.usage);
    }
    return seconds;
  }
}

export type Invocation =
  | { kind: 'help'; text: string }
  | { kind: 'run'; command: CommandName; positionals: string[]; flags: Flags };

function usageLine(spec: CommandSpec): string {
  return ['mailbox', spec.name, spec.arguments, '[flags]'].filter((part) => part !== '').join(' ');
}

function flagLines(flags: Record<string, FlagSpec>): string[] {
  const labels = Object.entries(flags).map(([name, spec]) => {
    const long = `--${name}${spec.value ? ` ${spec.value}` : ''}`;
    return [spec.short ? `-${spec.short}, ${long}` : long, spec.help] as const;
  });
  const width = Math.max(...labels.map(([label]) => label.length));
  return labels.map(([label, help]) => `  ${label.padEnd(width)}  ${help}`);
}

/** The overall help: commands, global flags and exit codes. */
export function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((spec) => spec.name.length));
  return [
    'mailbox: send, read and wait for messages of an Inter-LLM Mailbox service.',
    '',
    'usage: mailbox <command> [arguments] [flags]',
    '',
    'Commands:',
    ...COMMANDS.map((spec) => `  ${spec.name.padEnd(width)}  ${spec.summary}`),
    '',
    'Global flags:',
    ...flagLines(GLOBAL_FLAGS),
    '',
    'Exit codes: 0 done; 1 the service refused (error CODE: message on stderr);',
    '2 wait timed out; 64 bad arguments; 69 the service could not be reached.',
    '',
    'mailbox <command> --help shows the flags of a command.',
  ].join('\n');
}

function commandHelp(spec: CommandSpec): string {
  const own = Object.keys(spec.flags).length > 0 ? ['', 'Flags:', ...flagLines(spec.flags)] : [];
  return [
    `usage: ${usageLine(spec)}`,
    '',
    ...spec.details,
    ...own,
    '',
    'Global flags:',
    ...flagLines(GLOBAL_FLAGS),
  ].join('\n');
}

/** Where the command name is: the first argument that is neither a flag nor a flag's value. */
function commandIndex(argv: string[]): number {
  for (let index = 0; index < argv.length; index += 1) {
    const argument = argv[index];
    if (argument === '--') return -1;
    if (!argument.startsWith('-') || argument === '-') return index;
    const name = argument.replace(/^--?/, '');
    if (GLOBAL_FLAGS[name]?.type === 'string') index += 1;
  }
  return -1;
}

/**
 * The refusal of an unknown command at `argv[at]`. What follows an unknown flag is that
 * flag's value, maybe a secret (`--tokn "$MAILBOX_TOKEN"`): the flag is named, not the value;
 * so is a mailbox token in the command's place never echoed (it ends up in logs).
 */
function unknownCommand(argv: string[], at: number): UsageError {
  const before = at > 0 ? argv[at - 1] : '';
  if (before.startsWith('-')) {
    return new UsageError(`Unknown option '${before.split('=')[0]}'`, GENERAL_USAGE);
  }
  if (argv[at].startsWith('mbx_')) {
    return new UsageError(
      'unknown command: the first argument looks like a token; pass it with --token or MAILBOX_TOKEN',
      GENERAL_USAGE,
    );
  }
  return new UsageError(`unknown command ${JSON.stringify(argv[at])}`, GENERAL_USAGE);
}

/** The first sentence of a node:util parseArgs error: the rest suggests `--`, often wrongly. */
function parseProblem(error: unknown): string {
  const { message } = (error ?? {}) as { message?: unknown };
  if (typeof message !== 'string') return String(error);
  return message.split(/\.\s/)[0].replace(/\.$/, '');
}

/** Reads the command line (without `node` and the script); throws UsageError. */
export function parseCommandLine(argv: string[]): Invocation {
  const at = commandIndex(argv);
  const name = at < 0 ? null : argv[at];
  const rest = at < 0 ? argv : [...argv.slice(0, at), ...argv.slice(at + 1)];
  if (name === 'help') {
    const topic = COMMANDS.find((spec) => spec.name === rest.find((arg) => !arg.startsWith('-')));
    return { kind: 'help', text: topic ? commandHelp(topic) : generalHelp() };
  }
  const spec = name === null ? null : COMMANDS.find((candidate) => candidate.name === name);
  if (spec === undefined) throw unknownCommand(argv, at);
  const flags = spec === null ? GLOBAL_FLAGS : { ...GLOBAL_FLAGS, ...spec.flags };
  const usage = spec === null ? GENERAL_USAGE : usageLine(spec);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options: Object.fromEntries(
        Object.entries(flags).map(([flag, { type, short }]) => [
          flag,
          short === undefined ? { type } : { type, short },
        ]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(parseProblem(error), usage);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help === true) {
    return { kind: 'help', text: spec === null ? generalHelp() : commandHelp(spec) };
  }
  if (spec === null) throw new UsageError('no command given', GENERAL_USAGE);
  return {
    kind: 'run',
    command: spec.name,
    positionals: parsed.positionals,
    flags: new Flags(values, usage),
  };
}
