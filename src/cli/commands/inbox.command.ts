import type { MessageLike } from '../../agent-view/agent-message';
import { ExitCode } from '../cli.errors';
import { inboxJson, renderInbox } from '../cli-output';
import type { MailboxApi, MailboxFilter } from '../mailbox-api';
import { noArguments, requireMailbox, type Command } from './command-context';

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 500;

/**
 * The newest `limit` messages of the mailbox that pass the filter, oldest first, and how many
 * passed in all. Pages run oldest first, so the ids are walked first (a page of ids is small)
 * to find where the newest `limit` start; then only those are read, by their previews.
 */
async function newestMessages(
  api: MailboxApi,
  mailbox: string,
  filter: MailboxFilter,
  limit: number,
): Promise<{ messages: MessageLike[]; matching: number; unreadCount: number }> {
  let tail: string[] = [];
  let matching = 0;
  let after: string | null = null;
  for (;;) {
    const page = await api.mailboxIds(mailbox, filter, after);
    matching += page.nodes.length;
    tail = [...tail, ...page.nodes.map((node) => node.id)].slice(-(limit + 1));
    if (!page.hasNextPage || page.endCursor === null) break;
    after = page.endCursor;
  }
  // The id just before the newest `limit`: the newest are the page after it.
  after = matching > limit ? tail[0] : null;
  const messages: MessageLike[] = [];
  let unreadCount: number;
  for (;;) {
    const page = await api.mailboxPreviews(mailbox, filter, after, limit - messages.length);
    messages.push(...page.nodes);
    unreadCount = page.unreadCount;
    if (messages.length >= limit || !page.hasNextPage || page.endCursor === null) break;
    after = page.endCursor;
  }
  return { messages, matching, unreadCount };
}

/** `inbox [--all] [--limit N] [--thread ID]`: header and preview lines, newest first. */
export const inbox: Command = async (context, positionals, flags) => {
  noArguments('inbox', positionals, flags);
  const mailbox = await requireMailbox(context, 'inbox', flags);
  const limit = flags.integer('limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
  const filter: MailboxFilter = {
    unreadOnly: !flags.boolean('all'),
    threadId: flags.string('thread'),
  };
  const found = await newestMessages(context.api, mailbox, filter, limit);
  const listing = {
    mailbox,
    unreadCount: found.unreadCount,
    messages: found.messages.reverse(),
    matching: Math.max(found.matching, found.messages.length),
    ...filter,
  };
  context.print.out(context.json ? JSON.stringify(inboxJson(listing)) : renderInbox(listing));
  return ExitCode.Ok;
};
