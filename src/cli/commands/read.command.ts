import { ExitCode, ServiceError, UsageError } from '../cli.errors';
import { renderMessages, wholeMessage } from '../cli-output';
import type { Command } from './command-context';

/** `read <message-id...>` or `read --thread ID`: whole bodies, marked read unless --no-mark. */
export const read: Command = async (context, positionals, flags) => {
  const thread = flags.string('thread');
  if (thread !== null && positionals.length > 0) {
    throw new UsageError('give message ids or --thread, not both', flags.usage);
  }
  if (thread === null && positionals.length === 0) {
    throw new UsageError('name the messages to read (or --thread ID)', flags.usage);
  }
  const messages =
    thread === null ? await context.api.messages(positionals) : await context.api.thread(thread);
  if (messages.length === 0) {
    throw new ServiceError([
      { code: 'NOT_FOUND', message: `thread ${thread} has no message that you may read` },
    ]);
  }
  // Marked before anything is printed: a refused mark (no mailbox named) prints nothing.
  const marked = flags.boolean('no-mark')
    ? null
    : await context.api.markRead(
        context.mailbox,
        messages.map((message) => message.id),
      );
  if (context.json) {
    context.print.out(
      JSON.stringify({
        messages: messages.map(wholeMessage),
        unread_count: marked?.unreadCount ?? null,
      }),
    );
  } else {
    context.print.out(renderMessages(messages));
    if (marked !== null) {
      context.print.note(`marked read; ${marked.name} has ${marked.unreadCount} unread`);
    }
  }
  return ExitCode.Ok;
};
