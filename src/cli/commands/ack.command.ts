import { ExitCode, UsageError } from '../cli.errors';
import type { Command } from './command-context';

/** `ack <message-id...>`: confirms deliveries of messages sent with requireConfirmation. */
export const ack: Command = async (context, positionals, flags) => {
  if (positionals.length === 0) {
    throw new UsageError('name the messages to acknowledge', flags.usage);
  }
  const acknowledged: Array<{ message_id: string; status: string }> = [];
  for (const id of positionals) {
    acknowledged.push({ message_id: id, status: await context.api.confirm(context.mailbox, id) });
  }
  context.print.out(
    context.json
      ? JSON.stringify({ acknowledged })
      : acknowledged.map((entry) => `${entry.message_id}  ${entry.status}`).join('\n'),
  );
  return ExitCode.Ok;
};
