import { ExitCode, UsageError } from '../cli.errors';
import { renderSearch, searchJson } from '../cli-output';
import type { Command } from './command-context';

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 100;

/** `search <words...> [--limit N] [--thread ID] [--after ID]`: previews, newest first. */
export const search: Command = async (context, positionals, flags) => {
  if (positionals.length === 0) {
    throw new UsageError('search needs the words to find', flags.usage);
  }
  const listing = {
    query: positionals.join(' '),
    threadId: flags.string('thread'),
    ...(await context.api.search(
      positionals.join(' '),
      // The admin names the mailbox; a mailbox token searches its own.
      context.mailbox,
      flags.string('thread'),
      flags.integer('limit', 1, MAX_LIMIT, DEFAULT_LIMIT),
      flags.string('after'),
    )),
  };
  context.print.out(context.json ? JSON.stringify(searchJson(listing)) : renderSearch(listing));
  return ExitCode.Ok;
};
