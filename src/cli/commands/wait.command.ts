import { encodeTime } from 'ulid';
import type { MessageLike } from '../../agent-view/agent-message';
import { ExitCode } from '../cli.errors';
import { renderMessages, wholeMessage } from '../cli-output';
import { mailboxFeed, type MailboxApi } from '../mailbox-api';
import { noArguments, requireMailbox, type Command, type CommandContext } from './command-context';

const DEFAULT_TIMEOUT_SECONDS = 20;
/** The longest wait: a day (a timer takes at most about 24.8 days); wait again for longer. */
const MAX_TIMEOUT_SECONDS = 86_400;

/**
 * How far back the feed's replay starts. The subscription request only reaches the service
 * some time after it is sent, while the unread list is read at once: a message stored in
 * between would be in neither. Replaying from a little before the start closes that gap (ids
 * are time-ordered); what both return is told apart by id. The margin also covers a client
 * clock that runs a little ahead of the service's.
 */
const REPLAY_MARGIN_MS = 30_000;

/** A feed cursor (a ULID's time part, then the lowest random part) `REPLAY_MARGIN_MS` before `now`. */
export function replayCursor(now: number): string {
  return encodeTime(Math.max(0, now - REPLAY_MARGIN_MS), 10) + '0'.repeat(16);
}

export interface WaitFilter {
  threadId: string | null;
  from: string | null;
}

/** Whether `wait` reports the message: unread, and of the thread and sender asked for. */
export function waitedFor(message: MessageLike, filter: WaitFilter): boolean {
  return (
    message.read !== true &&
    (filter.threadId === null || message.threadId === filter.threadId) &&
    (filter.from === null || message.sender === filter.from)
  );
}

/** Every unread message of the mailbox (of the thread, if one is named), oldest first. */
async function unreadMessages(
  api: MailboxApi,
  mailbox: string,
  threadId: string | null,
): Promise<MessageLike[]> {
  const messages: MessageLike[] = [];
  let after: string | null = null;
  for (;;) {
    const page = await api.mailboxMessages(mailbox, { unreadOnly: true, threadId }, after);
    messages.push(...page.nodes);
    if (!page.hasNextPage || page.endCursor === null) return messages;
    after = page.endCursor;
  }
}

function print(context: CommandContext, messages: MessageLike[]): void {
  if (context.json) {
    for (const message of messages) context.print.out(JSON.stringify(wholeMessage(message)));
  } else {
    context.print.out(renderMessages(messages));
  }
}

/**
 * `wait [--timeout S] [--thread ID] [--from MAILBOX]`: the unread messages that match, at
 * once; else the first one to arrive; else exit 2 after S seconds. Nothing is marked read, so
 * a caller that dies before handling a message finds it again.
 */
export const wait: Command = async (context, positionals, flags) => {
  noArguments('wait', positionals, flags);
  const mailbox = await requireMailbox(context, 'wait', flags);
  const timeout = flags.seconds('timeout', DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS);
  const filter: WaitFilter = { threadId: flags.string('thread'), from: flags.string('from') };
  const deadline = Date.now() + timeout * 1000;
  // Subscribed before the unread list is read, so that nothing falls between the two.
  const feed = context.openFeed(mailboxFeed(mailbox, replayCursor(Date.now())));
  try {
    const found = new Map<string, MessageLike>();
    const candidates = [
      ...(await unreadMessages(context.api, mailbox, filter.threadId)),
      ...feed.drain(),
    ];
    for (const message of candidates) {
      if (waitedFor(message, filter)) found.set(message.id, message);
    }
    if (found.size > 0) {
      print(
        context,
        [...found.values()].sort((a, b) => (a.id < b.id ? -1 : 1)),
      );
      return ExitCode.Ok;
    }
    if (!context.json) {
      context.print.note(`waiting up to ${timeout} s for a message to ${mailbox}`);
    }
    for (;;) {
      const message = await feed.next(deadline);
      if (message === null) break;
      if (waitedFor(message, filter)) {
        print(context, [message]);
        return ExitCode.Ok;
      }
    }
    context.print.note(`timeout: no message for ${mailbox} within ${timeout} s`);
    return ExitCode.TimedOut;
  } finally {
    await feed.close();
  }
};
