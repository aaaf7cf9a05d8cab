#!/usr/bin/env node
/**
 * `mailbox`: the command line of the service, for shell agents and people. A light client:
 * it talks to a running service over HTTP and graphql-ws and loads nothing of the service.
 */
import { isatty } from 'node:tty';
import { CliError, ExitCode, ServiceError, UsageError } from './cli.errors';
import { DEFAULT_URL, parseCommandLine, type CommandName } from './cli-arguments';
import { readCliEnvironment } from './cli-environment';
import type { Printer } from './cli-output';
import { ack } from './commands/ack.command';
import type { Command, CommandContext } from './commands/command-context';
import { inbox } from './commands/inbox.command';
import { read } from './commands/read.command';
import { search } from './commands/search.command';
import { reply, send } from './commands/send.command';
import { tail } from './commands/tail.command';
import { wait } from './commands/wait.command';
import { GraphqlHttpClient } from './graphql-http.client';
import { LiveFeed } from './live-feed';
import { MailboxApi } from './mailbox-api';
import { serviceAddress } from './service-address';

const COMMANDS: Record<CommandName, Command> = {
  send,
  reply,
  inbox,
  search,
  read,
  wait,
  tail,
  ack,
};

const printer: Printer = {
  out: (text) => process.stdout.write(`${text}\n`),
  note: (text) => process.stderr.write(`${text}\n`),
};

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function untilStopped(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

async function run(argv: string[]): Promise<ExitCode> {
  const invocation = parseCommandLine(argv);
  if (invocation.kind === 'help') {
    printer.out(invocation.text);
    return ExitCode.Ok;
  }
  const { flags } = invocation;
  const environment = readCliEnvironment();
  const url = flags.string('url') ?? environment.url ?? DEFAULT_URL;
  const address = serviceAddress(url);
  if (address === null) {
    throw new UsageError(`${JSON.stringify(url)} is not an http:// or https:// URL`, flags.usage);
  }
  const token = flags.string('token') ?? environment.token;
  const context: CommandContext = {
    api: new MailboxApi(new GraphqlHttpClient(address.http, token)),
    openFeed: (request) => new LiveFeed(address.ws, token, request),
    mailbox: flags.string('mailbox') ?? environment.mailbox,
    json: flags.boolean('json'),
    print: printer,
    stdin: { isTTY: isatty(0), read: readStdin },
    untilStopped,
  };
  try {
    return await COMMANDS[invocation.command](context, invocation.positionals, flags);
  } catch (error) {
    // The service's answer to a missing --mailbox names its argument: say how to fix it.
    if (
      error instanceof ServiceError &&
      context.mailbox === null &&
      error.faults.some((fault) => fault.field === 'input.sender' || fault.field === 'mailbox')
    ) {
      error.hint = 'name your mailbox with --mailbox NAME or MAILBOX_NAME';
    }
    throw error;
  }
}

/** Errors are lines on stderr and an exit code; a stack trace is never shown. */
function report(error: unknown): ExitCode {
  if (error instanceof CliError) {
    for (const line of error.lines()) printer.note(line);
    return error.exitCode;
  }
  printer.note(`error: ${error instanceof Error ? error.message : String(error)}`);
  return ExitCode.Failed;
}

/**
 * Exits once stdout and stderr are written: sockets that are still open (the HTTP client's
 * keep-alive pool) must not hold the process.
 */
function exit(code: ExitCode): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

// A reader that goes away (`mailbox tail | head -1`) ends the run quietly.
process.stdout.on('error', () => process.exit(ExitCode.Ok));
process.on('uncaughtException', (error) => exit(report(error)));
process.on('unhandledRejection', (error) => exit(report(error)));

run(process.argv.slice(2)).then(exit, (error: unknown) => exit(report(error)));
