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
  const query = positionals.join(' ');
  const threadId = flags.string('thread');
  const found = await context.api.search(
    query,
    // The admin names the mailbox; a mailbox token searches its own.
    context.mailbox,
    threadId,
    flags.integer('limit', 1, MAX_LIMIT, DEFAULT_LIMIT),
    flags.string('after'),
  );
  const listing = { query, threadId, ...found };
  context.print.out(context.json ? JSON.stringify(searchJson(listing)) : renderSearch(listing));
  return ExitCode.Ok;
};
