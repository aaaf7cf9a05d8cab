import { ExitCode, ServiceError, UsageError } from '../cli.errors';
import type { Command } from './command-context';

/**
 * `ack <message-id...>`: confirms deliveries of messages sent with requireConfirmation, each on
 * its own: one the service refuses is reported beside the others, which are still confirmed.
 */
export const ack: Command = async (context, positionals, flags) => {
  if (positionals.length === 0) {
    throw new UsageError('name the messages to acknowledge', flags.usage);
  }
  const acknowledged: Array<{ message_id: string; status: string }> = [];
  const failed: Array<{ message_id: string; error: string }> = [];
  const lines: string[] = [];
  for (const id of positionals) {
    try {
      const status = await context.api.confirm(context.mailbox, id);
      acknowledged.push({ message_id: id, status });
      lines.push(`${id}  ${status}`);
    } catch (error) {
      // Only the service's refusal of this id: an unreachable service ends the command.
      if (!(error instanceof ServiceError)) throw error;
      failed.push({ message_id: id, error: error.message });
      lines.push(`${id}  error ${error.message}`);
    }
  }
  context.print.out(context.json ? JSON.stringify({ acknowledged, failed }) : lines.join('\n'));
  return failed.length === 0 ? ExitCode.Ok : ExitCode.Failed;
};
