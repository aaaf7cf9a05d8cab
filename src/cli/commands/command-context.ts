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
 * The caller's mailbox, for the commands that name it to the service: --mailbox or
 * MAILBOX_NAME, else the token's own (the `viewer` query). The admin token has none.
 */
export async function requireMailbox(
  context: CommandContext,
  command: string,
  flags: Flags,
): Promise<string> {
  if (context.mailbox !== null) return context.mailbox;
  const own = await context.api.viewer();
  if (own !== null) return own;
  throw new UsageError(
    `${command} needs your mailbox's name: the token names none (the admin token, or AUTH_ENABLED=false); pass --mailbox NAME or set MAILBOX_NAME`,
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
