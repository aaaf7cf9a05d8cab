import { ExitCode, UsageError } from '../cli.errors';
import type { Flags } from '../cli-arguments';
import { sentJson, sentLines } from '../cli-output';
import type { SendInput, SendResult } from '../mailbox-api';
import type { Command, CommandContext } from './command-context';

/** The body: the words given, or stdin for "-" or for no words while stdin is not a terminal. */
async function messageBody(
  context: CommandContext,
  words: string[],
  flags: Flags,
): Promise<string> {
  const fromStdin =
    (words.length === 1 && words[0] === '-') || (words.length === 0 && !context.stdin.isTTY);
  if (!fromStdin) {
    if (words.length === 0) {
      throw new UsageError('no body: give it as arguments, or pipe it in with "-"', flags.usage);
    }
    return words.join(' ');
  }
  const text = await context.stdin.read();
  if (text === '') throw new UsageError('no body: stdin was empty', flags.usage);
  return text;
}

/** The flags that send and reply share. */
function messageOptions(context: CommandContext, flags: Flags): Partial<SendInput> {
  return {
    // A mailbox token may leave the sender out; the admin (or an open service) must name it.
    sender: context.mailbox ?? undefined,
    subject: flags.string('subject') ?? undefined,
    replyWithinSeconds: flags.integer('reply-within', 1, 86_400) ?? undefined,
    requireConfirmation: flags.boolean('ack') || undefined,
    idempotencyKey: flags.string('idempotency-key') ?? undefined,
  };
}

function printSent(context: CommandContext, result: SendResult): ExitCode {
  context.print.out(context.json ? JSON.stringify(sentJson(result)) : sentLines(result));
  return ExitCode.Ok;
}

/** `send <to> [body...]`, `send --topic T [body...]`, `send --broadcast [body...]`. */
export const send: Command = async (context, positionals, flags) => {
  const topic = flags.string('topic');
  const broadcast = flags.boolean('broadcast');
  if (topic !== null && broadcast) {
    throw new UsageError('--topic and --broadcast exclude each other', flags.usage);
  }
  let address: Pick<SendInput, 'mode' | 'target'>;
  let words = positionals;
  if (topic !== null) {
    address = { mode: 'TOPIC', target: topic };
  } else if (broadcast) {
    address = { mode: 'BROADCAST' };
  } else {
    if (positionals.length === 0) {
      throw new UsageError(
        'name the mailbox to send to (or use --topic or --broadcast)',
        flags.usage,
      );
    }
    address = { mode: 'DIRECT', target: positionals[0] };
    words = positionals.slice(1);
  }
  const options = messageOptions(context, flags);
  const content = await messageBody(context, words, flags);
  const result = await context.api.send({
    ...options,
    ...address,
    threadId: flags.string('thread') ?? undefined,
    content,
  });
  return printSent(context, result);
};

/** `reply <message-id> [body...]`: DIRECT to the sender of the message, in its thread. */
export const reply: Command = async (context, positionals, flags) => {
  if (positionals.length === 0) {
    throw new UsageError('name the message to reply to', flags.usage);
  }
  const options = messageOptions(context, flags);
  const content = await messageBody(context, positionals.slice(1), flags);
  const result = await context.api.send({
    ...options,
    mode: 'DIRECT',
    inReplyTo: positionals[0],
    content,
  });
  return printSent(context, result);
};
