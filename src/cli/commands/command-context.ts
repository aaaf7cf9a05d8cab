import { UsageError, type ExitCode } from '../cli.errors';
import type { Flags } from '../cli-arguments';
import type { Printer } from '../cli-output';
import type { FeedRequest, LiveFeed } from '../live-feed';
import type { MailboxApi } from '../mailbox-api';

/** What a command may use; main.ts builds it from the flags, the environment and the process. */
export interface CommandContext {
  api: MailboxApi;
  openFeed(request: FeedRequest): LiveFeed;
  /** --mailbox or MAILBOX_NAME; null when neither is set. */
  mailbox: string | null;
  json: boolean;
  print: Printer;
  stdin: { isTTY: boolean; read(): Promise<string> };
  /** Resolves on SIGINT or SIGTERM. */
  untilStopped(): Promise<void>;
}

export type Command = (
  context: CommandContext,
  positionals: string[],
  flags: Flags,
) => Promise<ExitCode>;

/**
 * The caller's mailbox, for the commands that name it to the service. The schema has no
 * query that tells a token its own mailbox, so it must be given.
 */
export function requireMailbox(context: CommandContext, command: string, flags: Flags): string {
  if (context.mailbox !== null) return context.mailbox;
  throw new UsageError(
    `${command} needs your mailbox's name: pass --mailbox NAME or set MAILBOX_NAME (the service has no query that tells a token its own mailbox)`,
    flags.usage,
  );
}

export function noArguments(command: string, positionals: string[], flags: Flags): void {
  if (positionals.length > 0) {
    throw new UsageError(
      `${command} takes no arguments, but got ${JSON.stringify(positionals[0])}`,
      flags.usage,
    );
  }
}
