import {
  envelopeLine,
  quotedLine,
  renderForModel,
  toAgentMessage,
  type AgentMessage,
  type MessageLike,
} from '../agent-view/agent-message';
import type { SendResult } from './mailbox-api';

/** Where a command writes: results on stdout, notes for a person on stderr. */
export interface Printer {
  out(text: string): void;
  note(text: string): void;
}

/** A message with its whole body, as `--json` prints it. */
export function wholeMessage(message: MessageLike): AgentMessage {
  return toAgentMessage(message, true);
}

/** Messages with their whole bodies, for a person or a model: envelope line, fenced body. */
export function renderMessages(messages: MessageLike[]): string {
  return messages.map((message) => renderForModel(wholeMessage(message))).join('\n\n');
}

/** What `send` and `reply` print: the ids and the routing status, one `key value` a line. */
export function sentLines(result: SendResult): string {
  const recipients = `${result.recipients} recipient${result.recipients === 1 ? '' : 's'}`;
  return [
    `message_id  ${result.messageId}`,
    `thread_id   ${result.threadId ?? '(unknown)'}`,
    `status      ${result.status} (${recipients})`,
  ].join('\n');
}

export function sentJson(result: SendResult): Record<string, unknown> {
  return {
    message_id: result.messageId,
    thread_id: result.threadId,
    status: result.status,
    recipients: result.recipients,
  };
}

export interface InboxListing {
  mailbox: string;
  unreadCount: number;
  /** Newest first. */
  messages: MessageLike[];
  /** How many messages matched in all (the listing shows the newest of them). */
  matching: number;
  unreadOnly: boolean;
  threadId: string | null;
}

/**
 * The inbox for a person or a model: a summary line, then per message its envelope line and
 * a one-line preview. The preview is quoted as a JSON string, so that no body text can pass
 * for an envelope line of its own.
 */
export function renderInbox(listing: InboxListing): string {
  const kind = `${listing.unreadOnly ? 'unread ' : ''}message${listing.matching === 1 ? '' : 's'}`;
  const where = listing.threadId === null ? '' : ` in thread ${listing.threadId}`;
  const summary =
    listing.matching === 0
      ? `mailbox ${listing.mailbox}: ${listing.unreadCount} unread; no ${listing.unreadOnly ? 'unread ' : ''}messages${where}`
      : `mailbox ${listing.mailbox}: ${listing.unreadCount} unread; showing ${listing.messages.length} of ${listing.matching} ${kind}${where}, newest first`;
  return [summary, ...previewEntries(listing.messages)].join('\n');
}

/** Per message, its envelope line and its preview quoted on the next, marked when cut. */
function previewEntries(messages: MessageLike[]): string[] {
  return messages.map((message) => {
    const view = toAgentMessage(message, false);
    const more = view.truncated ? ' [...]' : '';
    return `${envelopeLine(view)}\n  ${quotedLine(view.preview ?? '')}${more}`;
  });
}

export interface SearchListing {
  query: string;
  threadId: string | null;
  /** Newest first. */
  messages: MessageLike[];
  nextCursor: string | null;
}

/** A search for a person or a model: a summary line, then each message as the inbox shows it. */
export function renderSearch(listing: SearchListing): string {
  const count = listing.messages.length;
  const where = listing.threadId === null ? '' : ` in thread ${listing.threadId}`;
  const more = listing.nextCursor === null ? '' : `; more with --after ${listing.nextCursor}`;
  const summary = `${count === 0 ? 'no' : count} message${count === 1 ? '' : 's'} holding ${quotedLine(listing.query)}${where}, newest first${more}`;
  return [summary, ...previewEntries(listing.messages)].join('\n');
}

export function searchJson(listing: SearchListing): Record<string, unknown> {
  return {
    query: listing.query,
    messages: listing.messages.map((message) => toAgentMessage(message, false)),
    next_cursor: listing.nextCursor,
  };
}

export function inboxJson(listing: InboxListing): Record<string, unknown> {
  return {
    mailbox: listing.mailbox,
    unread_count: listing.unreadCount,
    matching: listing.matching,
    messages: listing.messages.map((message) => toAgentMessage(message, false)),
  };
}
