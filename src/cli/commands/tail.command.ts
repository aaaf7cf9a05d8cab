import { CliError, ExitCode } from '../cli.errors';
import { renderMessages, wholeMessage } from '../cli-output';
import type { FeedRequest } from '../live-feed';
import { mailboxFeed, topicFeed } from '../mailbox-api';
import { noArguments, requireMailbox, type Command } from './command-context';

/** `tail [--after ID] [--topic PATTERN]`: every message as it arrives, until SIGINT/SIGTERM. */
export const tail: Command = async (context, positionals, flags) => {
  noArguments('tail', positionals, flags);
  const pattern = flags.string('topic');
  const after = flags.string('after');
  let request: FeedRequest;
  let what: string;
  if (pattern === null) {
    const mailbox = await requireMailbox(context, 'tail', flags);
    request = mailboxFeed(mailbox, after);
    what = `mailbox ${mailbox}`;
  } else {
    request = topicFeed(pattern, after);
    what = `topics ${pattern}`;
  }
  const feed = context.openFeed(request);
  void context.untilStopped().then(() => feed.close());
  if (!context.json) {
    void feed.connected.then((acknowledged) => {
      if (acknowledged) context.print.note(`following ${what}; Ctrl-C stops`);
    });
  }
  let last: string | null = null;
  let first = true;
  try {
    for (;;) {
      const message = await feed.next();
      if (message === null) return ExitCode.Ok;
      if (context.json) {
        context.print.out(JSON.stringify(wholeMessage(message)));
      } else {
        // A blank line between messages, as `read` prints them.
        context.print.out(`${first ? '' : '\n'}${renderMessages([message])}`);
      }
      first = false;
      last = message.id;
    }
  } catch (error) {
    if (last !== null && error instanceof CliError) {
      const topic = pattern === null ? '' : ` --topic '${pattern}'`;
      error.hint = `to go on where this stopped: mailbox tail --after ${last}${topic}`;
    }
    throw error;
  } finally {
    await feed.close();
  }
};
