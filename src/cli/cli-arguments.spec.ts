import { UsageError } from './cli.errors';
import { parseCommandLine, type Invocation } from './cli-arguments';

function run(argv: string[]): Extract<Invocation, { kind: 'run' }> {
  const invocation = parseCommandLine(argv);
  if (invocation.kind !== 'run') throw new Error(`expected a command, got help`);
  return invocation;
}

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe(parseCommandLine.name, () => {
  it('finds the command after global flags and their values', () => {
    const invocation = run(['--url', 'http://h:1', '--mailbox', 'bob', 'inbox', '--limit', '5']);
    expect(invocation.command).toBe('inbox');
    expect(invocation.positionals).toEqual([]);
    expect(invocation.flags.string('url')).toBe('http://h:1');
    expect(invocation.flags.string('mailbox')).toBe('bob');
    expect(invocation.flags.integer('limit', 1, 500, 20)).toBe(5);
  });

  it('keeps the body words in order, "-" and everything after -- included', () => {
    const invocation = run(['send', 'bob', 'hello', '--ack', 'there', '--', '--not-a-flag', '-']);
    expect(invocation.positionals).toEqual(['bob', 'hello', 'there', '--not-a-flag', '-']);
    expect(invocation.flags.boolean('ack')).toBe(true);
    expect(invocation.flags.boolean('broadcast')).toBe(false);
  });

  it('reads --no-mark as a flag of read, and --flag=value forms', () => {
    const invocation = run(['read', '--no-mark', '--thread=t1', '--json']);
    expect(invocation.flags.boolean('no-mark')).toBe(true);
    expect(invocation.flags.string('thread')).toBe('t1');
    expect(invocation.flags.boolean('json')).toBe(true);
  });

  it('gives the overall help and each command’s help', () => {
    const help = (argv: string[]): string => {
      const invocation = parseCommandLine(argv);
      if (invocation.kind !== 'help') throw new Error(`${argv.join(' ')} is not help`);
      return invocation.text;
    };
    expect(help(['--help'])).toContain('Commands:');
    expect(help(['help'])).toBe(help(['--help']));
    expect(help(['wait', '-h'])).toMatch(/^usage: mailbox wait \[flags\]\n/);
    expect(help(['wait', '-h'])).toContain('--timeout SECONDS');
    expect(help(['help', 'wait'])).toBe(help(['wait', '--help']));
  });

  it('refuses unknown commands and flags, flags of other commands, and no command', () => {
    expect(usageError(['frobnicate']).message).toBe('unknown command "frobnicate"');
    // A mistyped flag's value may be a secret: the flag is named, the value never shown.
    const secret = 'mbx_YWxpY2U.c2VjcmV0LXNlY3JldC1zZWNyZXQ';
    for (const argv of [
      ['--tokn', secret, 'inbox'],
      [secret, 'inbox'],
    ]) {
      expect(usageError(argv).message).not.toContain(secret);
    }
    expect(usageError(['--tokn', secret, 'inbox']).message).toBe("Unknown option '--tokn'");
    expect(usageError(['inbox', '--frob']).message).toBe("Unknown option '--frob'");
    expect(usageError(['inbox', '--timeout', '3']).usage).toBe('mailbox inbox [flags]');
    expect(usageError(['--json']).message).toBe('no command given');
    expect(usageError(['send', 'bob', 'x', '--subject']).usage).toBe(
      'mailbox send <to> [body...] [flags]',
    );
  });

  it('checks numbers as usage errors', () => {
    const { flags } = run(['inbox', '--limit', '0']);
    expect(() => flags.integer('limit', 1, 500, 20)).toThrow(
      '--limit: "0" is not a whole number from 1 to 500',
    );
    expect(run(['inbox']).flags.integer('limit', 1, 500, 20)).toBe(20);
    expect(run(['wait', '--timeout', '0.5']).flags.seconds('timeout', 20, 86_400)).toBe(0.5);
    expect(() => run(['wait', '--timeout', '-1']).flags.seconds('timeout', 20, 86_400)).toThrow(
      UsageError,
    );
    expect(() =>
      run(['wait', '--timeout', '86400.5']).flags.seconds('timeout', 20, 86_400),
    ).toThrow('--timeout: 86400.5 is more than 86400 seconds');
    expect(() => run(['wait', '--timeout', '1e3']).flags.seconds('timeout', 20, 86_400)).toThrow(
      '--timeout: "1e3" is not a number of seconds',
    );
  });
});
