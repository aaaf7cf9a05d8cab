import type { MessageLike } from '../agent-view/agent-message';
import { ServiceError } from './cli.errors';
import type { GraphqlHttpClient } from './graphql-http.client';
import type { FeedRequest } from './live-feed';

/** The Message fields of the agent view's envelope (MessageLike without its body). */
const ENVELOPE = `id sender mode target subject contentType threadId inReplyTo hop
  createdAt replyBy requireConfirmation metadata`;
/** The Message fields the agent view reads (MessageLike). */
const MESSAGE = `${ENVELOPE} content`;
/** The same, with the read flag: only where a mailbox reads (elsewhere it is always false). */
const MESSAGE_READ = `${MESSAGE} read`;
/** The envelope and the body's start: the service reads no more of a body than a listing shows. */
const PREVIEW_READ = `${ENVELOPE} preview previewTruncated read`;

/** The service's largest page (`first`). */
const PAGE = 500;
/** Ids one markRead call may name. */
const MARK_BATCH = 500;
/** message(id) fields one request asks for, under the service's alias and field limits. */
const LOOKUP_BATCH = 20;

export interface SendInput {
  sender?: string;
  mode: 'DIRECT' | 'BROADCAST' | 'TOPIC';
  target?: string;
  content: string;
  subject?: string;
  threadId?: string;
  inReplyTo?: string;
  replyWithinSeconds?: number;
  requireConfirmation?: boolean;
  idempotencyKey?: string;
}

export interface SendResult {
  messageId: string;
  /** Given, inherited from the message answered, or the message's own id. */
  threadId: string | null;
  status: string;
  recipients: number;
}

export interface MailboxFilter {
  unreadOnly: boolean;
  threadId: string | null;
}

export interface MailboxPage<T> {
  unreadCount: number;
  nodes: T[];
  endCursor: string | null;
  hasNextPage: boolean;
}

const SEND = `mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) { messageId threadId status recipients error errorCode }
}`;
const MARK_READ = `mutation MarkRead($mailbox: String, $ids: [ID!]) {
  markRead(mailbox: $mailbox, messageIds: $ids) { name unreadCount }
}`;
const CONFIRM = `mutation Confirm($mailbox: String, $id: ID!) {
  confirmDelivery(mailbox: $mailbox, messageId: $id) { messageId status }
}`;
const THREAD = `query Thread($id: String!, $after: ID) {
  thread(id: $id, first: ${PAGE}, after: $after) {
    nodes { ${MESSAGE} }
    pageInfo { endCursor hasNextPage }
  }
}`;

function mailboxQuery(fields: string): string {
  return `query Mailbox($name: String!, $first: Int, $after: ID, $unreadOnly: Boolean, $threadId: String) {
    mailbox(name: $name) {
      unreadCount
      messages(first: $first, after: $after, unreadOnly: $unreadOnly, threadId: $threadId) {
        nodes { ${fields} }
        pageInfo { endCursor hasNextPage }
      }
    }
  }`;
}
const MAILBOX_IDS = mailboxQuery('id');
const MAILBOX_MESSAGES = mailboxQuery(MESSAGE_READ);
const MAILBOX_PREVIEWS = mailboxQuery(PREVIEW_READ);

interface Page<T> {
  nodes: T[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}

const VIEWER = 'query Viewer { viewer { name } }';
const SEARCH = `query Search($query: String!, $mailbox: String, $threadId: String, $first: Int, $after: ID) {
  searchMessages(query: $query, mailbox: $mailbox, threadId: $threadId, first: $first, after: $after) {
    nodes { ${PREVIEW_READ} }
    pageInfo { endCursor hasNextPage }
  }
}`;

/** A preview as the agent view reads it: the body's start as its content. */
type Preview = Omit<MessageLike, 'content'> & { preview: string; previewTruncated: boolean };

function fromPreview({ preview, previewTruncated, ...envelope }: Preview): MessageLike {
  return { ...envelope, content: preview, contentCut: previewTruncated };
}

/** What a search found: previews, newest first, and where the next page starts. */
export interface SearchPage {
  messages: MessageLike[];
  nextCursor: string | null;
}

/** The operations of the CLI, over GraphQL on HTTP. */
export class MailboxApi {
  constructor(private readonly http: GraphqlHttpClient) {}

  /** The token's own mailbox; null for the admin token. */
  async viewer(): Promise<string | null> {
    const { viewer } = await this.http.request<{ viewer: { name: string } | null }>(VIEWER, {});
    return viewer?.name ?? null;
  }

  /** Sends one message; a FAILED route is a ServiceError. */
  async send(input: SendInput): Promise<SendResult> {
    const { sendMessage: route } = await this.http.request<{
      sendMessage: {
        messageId: string;
        threadId: string | null;
        status: string;
        recipients: number;
        error: string | null;
        errorCode: string | null;
      };
    }>(SEND, { input });
    if (route.status === 'FAILED') {
      throw new ServiceError([
        { code: route.errorCode ?? 'FAILED', message: route.error ?? 'the message was not routed' },
      ]);
    }
    return {
      messageId: route.messageId,
      threadId: route.threadId,
      status: route.status,
      recipients: route.recipients,
    };
  }

  /** The messages with these ids, in that order; NOT_FOUND when one is unknown or expired. */
  async messages(ids: string[]): Promise<MessageLike[]> {
    const found: MessageLike[] = [];
    for (let start = 0; start < ids.length; start += LOOKUP_BATCH) {
      found.push(...(await this.lookup(ids.slice(start, start + LOOKUP_BATCH))));
    }
    return found;
  }

  /**
   * One operation's messages. Their bodies share the operation's read limit: a batch that
   * passes it (PAYLOAD_TOO_LARGE) is asked for again in halves, down to one message a call.
   */
  private async lookup(batch: string[]): Promise<MessageLike[]> {
    const variables = Object.fromEntries(batch.map((id, index) => [`id${index}`, id]));
    const query = `query Messages(${batch.map((_, index) => `$id${index}: ID!`).join(', ')}) {
      ${batch.map((_, index) => `m${index}: message(id: $id${index}) { ${MESSAGE} }`).join('\n')}
    }`;
    let data: Record<string, MessageLike | null>;
    try {
      data = await this.http.request<Record<string, MessageLike | null>>(query, variables);
    } catch (error) {
      const tooLarge =
        error instanceof ServiceError &&
        error.faults.some((fault) => fault.code === 'PAYLOAD_TOO_LARGE');
      if (!tooLarge || batch.length === 1) throw error;
      const half = Math.ceil(batch.length / 2);
      return [
        ...(await this.lookup(batch.slice(0, half))),
        ...(await this.lookup(batch.slice(half))),
      ];
    }
    return batch.map((id, index) => {
      const message = data[`m${index}`];
      if (!message) {
        throw new ServiceError([
          { code: 'NOT_FOUND', message: `message ${id} is unknown or has expired` },
        ]);
      }
      return message;
    });
  }

  /** A page of a mailbox's message ids, oldest first. */
  mailboxIds(
    mailbox: string,
    filter: MailboxFilter,
    after: string | null,
  ): Promise<MailboxPage<{ id: string }>> {
    return this.mailboxPage(MAILBOX_IDS, mailbox, filter, after, PAGE);
  }

  /** A page of a mailbox's messages with their read flags, oldest first. */
  mailboxMessages(
    mailbox: string,
    filter: MailboxFilter,
    after: string | null,
    first = PAGE,
  ): Promise<MailboxPage<MessageLike>> {
    return this.mailboxPage(MAILBOX_MESSAGES, mailbox, filter, after, first);
  }

  /**
   * A page of a mailbox's messages with their read flags, oldest first, each with the start of
   * its body as its content: `contentCut` when the body goes on (the agent view's `truncated`).
   */
  async mailboxPreviews(
    mailbox: string,
    filter: MailboxFilter,
    after: string | null,
    first = PAGE,
  ): Promise<MailboxPage<MessageLike>> {
    const page = await this.mailboxPage<Preview>(MAILBOX_PREVIEWS, mailbox, filter, after, first);
    return { ...page, nodes: page.nodes.map(fromPreview) };
  }

  /**
   * A page of the messages of a mailbox (null: the token's own) holding every word of
   * `query`, newest first, as previews.
   */
  async search(
    query: string,
    mailbox: string | null,
    threadId: string | null,
    first: number,
    after: string | null,
  ): Promise<SearchPage> {
    const { searchMessages: page } = await this.http.request<{ searchMessages: Page<Preview> }>(
      SEARCH,
      { query, mailbox, threadId, first, after },
    );
    return {
      messages: page.nodes.map(fromPreview),
      nextCursor: page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null,
    };
  }

  /** A whole thread as the caller may see it, oldest first. */
  async thread(id: string): Promise<MessageLike[]> {
    const messages: MessageLike[] = [];
    let after: string | null = null;
    for (;;) {
      const { thread }: { thread: Page<MessageLike> } = await this.http.request(THREAD, {
        id,
        after,
      });
      messages.push(...thread.nodes);
      if (!thread.pageInfo.hasNextPage || thread.pageInfo.endCursor === null) return messages;
      after = thread.pageInfo.endCursor;
    }
  }

  /**
   * Marks the messages read in the mailbox (null: the token's own); ids that are not in it
   * are ignored. Returns the mailbox's name and its unread count after.
   */
  async markRead(
    mailbox: string | null,
    ids: string[],
  ): Promise<{ name: string; unreadCount: number }> {
    let marked = { name: mailbox ?? '', unreadCount: 0 };
    for (let start = 0; start < ids.length; start += MARK_BATCH) {
      ({ markRead: marked } = await this.http.request<{
        markRead: { name: string; unreadCount: number };
      }>(MARK_READ, { mailbox, ids: ids.slice(start, start + MARK_BATCH) }));
    }
    return marked;
  }

  /** Confirms the delivery of a message to the mailbox (null: the token's own). */
  async confirm(mailbox: string | null, messageId: string): Promise<string> {
    const { confirmDelivery } = await this.http.request<{ confirmDelivery: { status: string } }>(
      CONFIRM,
      { mailbox, id: messageId },
    );
    return confirmDelivery.status;
  }

  private async mailboxPage<T>(
    query: string,
    mailbox: string,
    filter: MailboxFilter,
    after: string | null,
    first: number,
  ): Promise<MailboxPage<T>> {
    const { mailbox: found } = await this.http.request<{
      mailbox: { unreadCount: number; messages: Page<T> } | null;
    }>(query, { name: mailbox, first, after, ...filter });
    if (found === null) {
      throw new ServiceError([
        { code: 'NOT_FOUND', message: `mailbox ${JSON.stringify(mailbox)} is not registered` },
      ]);
    }
    return {
      unreadCount: found.unreadCount,
      nodes: found.messages.nodes,
      endCursor: found.messages.pageInfo.endCursor,
      hasNextPage: found.messages.pageInfo.hasNextPage,
    };
  }
}

/**
 * A mailbox's feed: stored messages after `after` (with their read flags), then live ones, with
 * which attempt a redelivery is.
 */
export function mailboxFeed(mailbox: string, after: string | null): FeedRequest {
  return {
    query: `subscription MailboxFeed($mailbox: String!, $after: ID) {
      mailboxMessages(mailbox: $mailbox, after: $after) { ${MESSAGE_READ} deliveryAttempt }
    }`,
    variables: { mailbox, after },
    field: 'mailboxMessages',
  };
}

/** Every topic the pattern matches: stored messages after `after`, then live ones. */
export function topicFeed(pattern: string, after: string | null): FeedRequest {
  return {
    query: `subscription TopicFeed($pattern: String!, $after: ID) {
      topicMessages(pattern: $pattern, after: $after) { ${MESSAGE} }
    }`,
    variables: { pattern, after },
    field: 'topicMessages',
  };
}
