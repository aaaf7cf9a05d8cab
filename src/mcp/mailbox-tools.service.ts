import { Injectable, Logger } from '@nestjs/common';
import {
  PREVIEW_BYTES,
  toAgentMessage,
  type AgentMessage,
  type MessageLike,
} from '../agent-view/agent-message';
import { AuthService } from '../auth/auth.service';
import { UnauthenticatedError, type MailboxPrincipal } from '../auth/principal';
import { AppError } from '../common/app-error';
import { Clock } from '../common/clock';
import { DeliveryStatus } from '../delivery/delivery-confirmation.model';
import { DeliveryService } from '../delivery/delivery.service';
import { InboxService } from '../inbox/inbox.service';
import { MailboxRepository } from '../mailboxes/mailbox.repository';
import { MailboxesService } from '../mailboxes/mailboxes.service';
import { PresenceService } from '../mailboxes/presence.service';
import {
  BodyBudget,
  MAX_OPERATION_BODY_BYTES,
  ownBodyReads,
  previewBodyReads,
  type BodyReads,
} from '../messages/body-reads';
import { BodyReadsExhaustedError } from '../messages/message.errors';
import { AddressingMode } from '../messages/message.model';
import { assertMessageId, messageIdTime } from '../messages/message-id';
import type { MessageEnvelope } from '../messages/message.repository';
import { MessagesService, type MessagePage } from '../messages/messages.service';
import {
  fromPushPayload,
  type PushedMessage,
  type StoredMessage,
} from '../messages/stored-message';
import { RedisPubSubService, type ChannelListener } from '../redis/redis-pubsub.service';
import { RedisUnavailableError } from '../redis/redis.errors';
import { MessageRouterService } from '../routing/message-router.service';
import { RouteStatus } from '../routing/route-result.model';
import { assertTopicPattern } from '../routing/address';
import { SigningKeysService } from '../provenance/signing-keys.service';
import { accepts, ACCEPT_ANYONE } from '../safety/contact-policy';
import { SearchService } from '../search/search.service';
import {
  formatArrivalCursor,
  parseArrivalCursor,
  type ArrivalCursor,
} from '../topics/arrival-cursor';
import { TopicHistoryService } from '../topics/topic-history.service';
import { WaitLockRepository } from './wait-lock.repository';

/** What `send_message` and `reply` take, in the tools' own names. */
export interface SendArgs {
  to?: string;
  topic?: string;
  broadcast?: boolean;
  body: string;
  subject?: string;
  thread_id?: string;
  in_reply_to?: string;
  reply_within_s?: number;
  idempotency_key?: string;
  require_ack?: boolean;
  content_type?: string;
}

export interface SendOutcome {
  message_id: string;
  thread_id: string;
  status: string;
  recipients: number;
  /** For PARTIAL: the recipients the message did not reach. */
  error?: string;
}

export interface AgentEntry {
  mailbox: string;
  description: string | null;
  online: boolean;
  last_seen_at: string | null;
  /** Whether its contact policy lets the caller write to it. */
  accepts_you: boolean;
  /** Its contact policy: patterns of mailbox names, * for any run of characters. */
  accept_from: string[];
}

export interface InboxPage {
  mailbox: string;
  unread_count: number;
  messages: AgentMessage[];
  /** Pass as `after` for the next page; null at the end. */
  next_cursor: string | null;
}

export interface TopicReading {
  /** The topic or pattern read. */
  topic: string;
  messages: AgentMessage[];
  /** Pass as `after` to read what comes next: the last message given, or the cursor given. */
  next_cursor: string;
  /** Whether more messages are stored after next_cursor now. */
  more: boolean;
  /**
   * Of the newest (no cursor), those whose bodies did not fit in the answer, oldest first:
   * older than every message given, so no cursor after them reaches them.
   */
  left_out: string[];
}

/** What list_agents asks for. */
export interface AgentQuery {
  onlineOnly: boolean;
  limit: number;
  offset: number;
  /** Only mailboxes whose name holds this, in any case. */
  nameContains?: string;
}

/** A page of list_agents: the agents, how many match in all, and where the next page starts. */
export interface AgentPage {
  agents: AgentEntry[];
  total: number;
  next_offset: number | null;
}

/** A message read whole: what the agent view shows, and its signature to check. */
type WholeMessage = StoredMessage & Pick<MessageLike, 'read' | 'deliveryAttempt'>;

/** A page of search_messages: previews, newest first, and where the next page starts. */
export interface SearchPage {
  messages: AgentMessage[];
  next_cursor: string | null;
}

export interface WaitOutcome {
  status: 'messages' | 'timeout';
  messages: AgentMessage[];
  waited_s: number;
}

export interface RecipientStatus {
  mailbox: string;
  /** PENDING, DELIVERED, FAILED, EXPIRED (tracked with require_ack), or STORED (untracked). */
  status: string;
  read: boolean;
  attempts: number;
}

/** The longest wait: common MCP clients give up on a tool call after 30 to 60 s. */
export const MAX_WAIT_S = 45;
export const DEFAULT_WAIT_S = 20;
/** Messages read_messages returns for a thread, and wait_for_message at most. */
export const MAX_MESSAGES_PER_CALL = 50;
/**
 * Bytes of bodies one answer reads and carries: past it, the next messages are left for
 * another call (always at least one message, so that each can be read on its own). The
 * answer holds every body twice (structured, and fenced for the model), and a message may be
 * 15 MiB.
 */
export const MAX_ANSWER_BODY_BYTES = 4 * 1024 * 1024;

/** How long the wait lock outlives the longest wait, for a wait whose instance dies. */
const WAIT_LOCK_MARGIN_MS = 5_000;

/** For DeliveryService.subscriberArrived: a wait has been pushed nothing before it asks. */
const NONE_PUSHED = { has: (): boolean => false };

/** Why a wait ended with no message: its time ran out (or its client left), or its token went. */
type WaitStop = 'timeout' | 'revoked';

/** The refusal of a wait whose token stopped being the mailbox's while it waited. */
function tokenGone(): UnauthenticatedError {
  return new UnauthenticatedError(
    'the token was rotated or revoked, or its mailbox deleted, during the wait',
  );
}

/** The names the tools give to the send input's fields, for errors a model can act on. */
const TOOL_FIELDS: Record<string, string> = {
  target: 'to',
  content: 'body',
  subject: 'subject',
  threadId: 'thread_id',
  inReplyTo: 'in_reply_to',
  replyWithinSeconds: 'reply_within_s',
  idempotencyKey: 'idempotency_key',
  contentType: 'content_type',
};

/**
 * What a listing of previews (check_inbox, search_messages) may read: Redis reads each content
 * whole to cut it, as much as one GraphQL operation may make it read, and only its start leaves
 * Redis; the metadata, answered whole, counts whole against the answer's bytes.
 */
function listingReads(): BodyReads {
  return previewBodyReads(
    MAX_ANSWER_BODY_BYTES,
    PREVIEW_BYTES,
    MAX_OPERATION_BODY_BYTES / MAX_ANSWER_BODY_BYTES,
  );
}

/** A page's messages as previews, each with whether the mailbox marked it read. */
function previews(page: MessagePage): AgentMessage[] {
  return page.messages.map((message, index) =>
    toAgentMessage({ ...message, read: page.read?.[index] ?? false }, false),
  );
}

/** The names search_messages gives to searchMessages' arguments. */
const SEARCH_FIELDS: Record<string, string> = {
  first: 'limit',
  threadId: 'thread_id',
};

/**
 * A send refusal with the tool's argument name in place of the GraphQL input path: a TOPIC
 * send's target is its `topic`.
 */
function inToolTerms(error: unknown, mode: AddressingMode): unknown {
  if (!(error instanceof AppError) || !error.details.field) return error;
  const path = error.details.field;
  const name = path.replace(/^input\./, '');
  const field =
    name === 'target' && mode === AddressingMode.TOPIC ? 'topic' : (TOOL_FIELDS[name] ?? name);
  return renamed(error, path, field);
}

/** `error` with `field` for `from`, in its details and its message. */
function renamed(error: AppError, from: string, field: string): AppError {
  return new AppError(error.code, error.message.replace(from, field), {
    ...error.details,
    field,
  });
}

/**
 * A second wait of a mailbox. No `field`: a refusal's field names an argument of the tool, and
 * no argument is at fault here.
 */
export class WaitInProgressError extends AppError {
  /** `retryAfterSeconds`: when the running wait ends at the latest. */
  constructor(mailbox: string, retryAfterSeconds: number) {
    super(
      'RATE_LIMITED',
      `wait_for_message: mailbox "${mailbox}" already has a wait running; one wait per mailbox at a time`,
      { reason: 'WAIT_IN_PROGRESS', retryAfterSeconds },
    );
  }
}

/**
 * The mailbox as an agent's tools: each operation acts for the caller's own mailbox (from its
 * token) and stands on the same services as the GraphQL API, so that both front doors share
 * one implementation of routing, inbox state and deliveries.
 */
@Injectable()
export class MailboxToolsService {
  private readonly logger = new Logger(MailboxToolsService.name);

  constructor(
    private readonly router: MessageRouterService,
    private readonly inbox: InboxService,
    private readonly messages: MessagesService,
    private readonly mailboxes: MailboxesService,
    private readonly records: MailboxRepository,
    private readonly presence: PresenceService,
    private readonly delivery: DeliveryService,
    private readonly pubsub: RedisPubSubService,
    private readonly waits: WaitLockRepository,
    private readonly topicHistory: TopicHistoryService,
    private readonly auth: AuthService,
    private readonly clock: Clock,
    private readonly search: SearchService,
    private readonly signing: SigningKeysService,
  ) {}

  /**
   * Whole messages as the agent reads them, each with whether the service's signature of it
   * holds for what was read (`verified`): an agent on MCP checks provenance without a call
   * of its own, and a message altered in the store since it was sent says so.
   */
  private async wholeViews(messages: WholeMessage[]): Promise<AgentMessage[]> {
    const verified = await Promise.all(messages.map((message) => this.signing.verify(message)));
    return messages.map((message, index) =>
      toAgentMessage({ ...message, verified: verified[index] }, true),
    );
  }

  /** Whether search_messages is served (SEARCH_ENABLED). */
  get searchEnabled(): boolean {
    return this.search.enabled;
  }

  async whoami(caller: MailboxPrincipal): Promise<{
    mailbox: string;
    unread_count: number;
    description: string | null;
  }> {
    const record = await this.mailboxes.get(caller.mailbox, 'authorization');
    return {
      mailbox: record.name,
      unread_count: await this.inbox.unreadCount(record.name),
      description: descriptionOf(record.metadata),
    };
  }

  /**
   * A page of the active mailboxes, online ones first, then the most recently active (seen,
   * or registered), with their policies; with `nameContains`, those whose name holds it (in
   * any case). What the order needs (names, presence, the seen index) is read for every
   * active mailbox in three reads, the records only for the page's.
   */
  async listAgents(caller: MailboxPrincipal, query: AgentQuery): Promise<AgentPage> {
    const [active, activity] = await Promise.all([
      this.records.activeSet(),
      this.records.lastActivity(),
    ]);
    let names = [...active];
    if (query.nameContains !== undefined) {
      const part = query.nameContains.toLowerCase();
      names = names.filter((name) => name.toLowerCase().includes(part));
    }
    const online = await this.records.online(names);
    let rows = names.map((name, index) => ({
      name,
      online: online[index],
      active: activity.get(name) ?? 0,
    }));
    if (query.onlineOnly) rows = rows.filter((row) => row.online);
    const order = rows.sort(
      (a, b) =>
        Number(b.online) - Number(a.online) ||
        b.active - a.active ||
        // Names are ASCII: code units order them, many times faster than localeCompare.
        (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
    const page = order.slice(query.offset, query.offset + query.limit);
    const records = new Map(
      (await this.records.findMany(page.map((entry) => entry.name))).map((record) => [
        record.name,
        record,
      ]),
    );
    // A mailbox deactivated or deleted between the reads drops out of its page.
    const agents = page.flatMap((entry) => {
      const record = records.get(entry.name);
      if (record === undefined || !record.active) return [];
      const policy = record.acceptFrom ?? [...ACCEPT_ANYONE];
      return [
        {
          mailbox: record.name,
          description: descriptionOf(record.metadata),
          online: entry.online,
          last_seen_at:
            record.lastSeenAt === null ? null : new Date(record.lastSeenAt).toISOString(),
          accepts_you: accepts(policy, caller.mailbox),
          accept_from: policy,
        },
      ];
    });
    const end = query.offset + page.length;
    return { agents, total: order.length, next_offset: end < order.length ? end : null };
  }

  async send(caller: MailboxPrincipal, args: SendArgs): Promise<SendOutcome> {
    const addresses = [args.to !== undefined, args.topic !== undefined, args.broadcast === true];
    if (addresses.filter(Boolean).length > 1) {
      throw new AppError('BAD_USER_INPUT', 'to: give one of to, topic or broadcast: true', {
        field: 'to',
      });
    }
    const mode =
      args.topic !== undefined
        ? AddressingMode.TOPIC
        : args.broadcast === true
          ? AddressingMode.BROADCAST
          : AddressingMode.DIRECT;
    if (mode === AddressingMode.DIRECT && args.to === undefined && !args.in_reply_to) {
      throw new AppError(
        'BAD_USER_INPUT',
        'to: name a mailbox (list_agents shows them), or give topic or broadcast: true',
        { field: 'to' },
      );
    }
    try {
      const routed = await this.router.route({
        sender: caller.mailbox,
        mode,
        target: mode === AddressingMode.TOPIC ? args.topic : args.to,
        content: args.body,
        contentType: args.content_type,
        subject: args.subject,
        threadId: args.thread_id,
        inReplyTo: args.in_reply_to,
        replyWithinSeconds: args.reply_within_s,
        idempotencyKey: args.idempotency_key,
        requireConfirmation: args.require_ack,
      });
      // A broadcast that reached no recipient comes back FAILED rather than thrown.
      if (routed.status === RouteStatus.FAILED) {
        throw new AppError(
          'SERVICE_UNAVAILABLE',
          `message ${routed.messageId}: ${routed.error ?? 'it reached no recipient'}`,
        );
      }
      return {
        message_id: routed.messageId,
        thread_id: routed.threadId ?? routed.messageId,
        status: routed.status,
        recipients: routed.recipients,
        ...(routed.error === null ? {} : { error: routed.error }),
      };
    } catch (error) {
      throw inToolTerms(error, mode);
    }
  }

  /**
   * Answers a message: to its sender, in its thread. A refusal of the message answered names
   * this tool's argument, `message_id`.
   */
  async reply(
    caller: MailboxPrincipal,
    messageId: string,
    body: string,
    extra: Pick<SendArgs, 'subject' | 'reply_within_s' | 'require_ack' | 'idempotency_key'>,
  ): Promise<SendOutcome> {
    try {
      return await this.send(caller, { ...extra, body, in_reply_to: messageId });
    } catch (error) {
      if (!(error instanceof AppError) || error.details.field !== 'in_reply_to') throw error;
      throw renamed(error, 'in_reply_to', 'message_id');
    }
  }

  /**
   * The caller's messages, oldest first: unread only by default, or of one thread; as
   * previews, for which only each body's first PREVIEW_BYTES leave Redis.
   */
  async checkInbox(
    caller: MailboxPrincipal,
    unreadOnly: boolean,
    limit: number,
    threadId: string | null,
    after: string | null,
  ): Promise<InboxPage> {
    const mailbox = caller.mailbox;
    this.presence.seen(mailbox);
    const [page, unread] = await Promise.all([
      this.inbox.mailboxPage(mailbox, limit, after, { unreadOnly, threadId }, listingReads()),
      this.inbox.unreadCount(mailbox),
    ]);
    return {
      mailbox,
      unread_count: unread,
      messages: previews(page),
      next_cursor: page.hasNextPage ? page.endCursor : null,
    };
  }

  /**
   * The caller's messages whose subject or body holds every word of `query`, newest first, as
   * searchMessages finds them; as previews, as check_inbox lists them (only each body's start
   * leaves Redis). A refusal names the tool's arguments.
   */
  async searchMessages(
    caller: MailboxPrincipal,
    query: string,
    limit: number,
    threadId: string | null,
    after: string | null,
  ): Promise<SearchPage> {
    this.presence.seen(caller.mailbox);
    try {
      const page = await this.search.search(
        caller,
        { query, mailbox: null, threadId, first: limit, after },
        listingReads(),
      );
      return {
        messages: previews(page),
        next_cursor: page.hasNextPage ? page.endCursor : null,
      };
    } catch (error) {
      if (!(error instanceof AppError) || !error.details.field) throw error;
      const field = SEARCH_FIELDS[error.details.field];
      throw field === undefined ? error : renamed(error, error.details.field, field);
    }
  }

  /**
   * Whole messages by id (those the caller may read; others are named in `not_found`; an id
   * given twice is read once) or a thread's first MAX_MESSAGES_PER_CALL the caller sent or
   * received, after `after`; marks the caller's copies read unless told not to. Bodies past
   * MAX_ANSWER_BODY_BYTES are not read: those ids are named in `left_out`, and a thread's
   * rest starts after `next_cursor`, unread and unmarked.
   */
  async readMessages(
    caller: MailboxPrincipal,
    ids: string[] | null,
    threadId: string | null,
    markRead: boolean,
    after: string | null = null,
  ): Promise<{
    messages: AgentMessage[];
    not_found: string[];
    left_out: string[];
    next_cursor: string | null;
  }> {
    const mailbox = caller.mailbox;
    let found: StoredMessage[];
    const missing: string[] = [];
    // Bodies past the answer's share are not read at all: their ids go to left_out.
    const reads = ownBodyReads(MAX_ANSWER_BODY_BYTES);
    let unread: string[] = [];
    let nextCursor: string | null = null;
    const byIds = ids !== null && ids.length > 0;
    // Each way reads differently: a call that names both would have one of them ignored.
    if (byIds && threadId !== null) {
      throw new AppError('BAD_USER_INPUT', 'message_ids: give message_ids or thread_id, not both', {
        field: 'message_ids',
      });
    }
    if (after !== null && threadId === null) {
      throw new AppError('BAD_USER_INPUT', 'after: goes with thread_id (a next_cursor of it)', {
        field: 'after',
      });
    }
    if (byIds) {
      const checked = [
        ...new Set(ids.map((id, index) => assertMessageId(id, `message_ids[${index}]`))),
      ];
      // Who may read each is decided before any body is read or counted: an id the caller
      // may not read is not_found, as one that does not exist.
      const envelopes = await this.messages.envelopes(checked);
      const readable: MessageEnvelope[] = [];
      for (const [index, envelope] of envelopes.entries()) {
        if (envelope !== null && (await this.messages.mayRead(envelope, caller))) {
          readable.push(envelope);
        } else {
          missing.push(checked[index]);
        }
      }
      const within = await this.messages.readWithin(
        readable.map((envelope) => envelope.id),
        reads,
      );
      unread = readable.slice(within.taken).map((envelope) => envelope.id);
      found = [];
      for (const { id } of readable.slice(0, within.taken)) {
        const message = within.found.get(id);
        if (message === undefined) missing.push(id);
        else found.push(message);
      }
    } else if (threadId !== null) {
      const page = await this.inbox.thread(threadId, MAX_MESSAGES_PER_CALL, after, caller, reads);
      found = page.messages;
      nextCursor = page.hasNextPage ? page.endCursor : null;
    } else {
      throw new AppError('BAD_USER_INPUT', 'message_ids: give message_ids or thread_id', {
        field: 'message_ids',
      });
    }
    this.presence.seen(mailbox);
    const read = await this.records.readFlags(
      mailbox,
      found.map((message) => message.id),
    );
    if (markRead && found.length > 0) {
      await this.inbox.markRead(
        mailbox,
        found.map((message) => message.id),
        null,
      );
    }
    return {
      messages: await this.wholeViews(
        found.map((message, index) => ({ ...message, read: markRead || read[index] })),
      ),
      not_found: missing,
      left_out: unread,
      next_cursor: nextCursor,
    };
  }

  /**
   * Whole messages of a topic, or of every topic a pattern matches: the newest `limit` by id,
   * oldest first (after null), or the first `limit` stored after the cursor, in the order they
   * were stored. next_cursor is a place in that order (ArrivalCursor), so that a reading from
   * it misses no message stored later with an older id (a slow send, another instance, the
   * outage queue). `after` may also be a message id: what was stored after that message (or,
   * when it is no topic message, after its time). Bodies past MAX_ANSWER_BODY_BYTES are not
   * read: the newest that fit are given and the older rest named in `left_out`, or the reading
   * after a cursor stops early with `more`. Topics are readable by every mailbox.
   */
  async readTopic(
    caller: MailboxPrincipal,
    topic: string,
    after: string | null,
    limit: number,
  ): Promise<TopicReading> {
    const pattern = assertTopicPattern(topic, 'topic');
    const cursor = after === null ? null : await this.topicCursor(after);
    this.presence.seen(caller.mailbox);
    try {
      return cursor === null
        ? await this.newestOfTopic(pattern, limit)
        : await this.topicAfter(pattern, cursor, limit);
    } catch (error) {
      if (!(error instanceof AppError) || error.details.field !== 'pattern') throw error;
      throw renamed(error, 'pattern', 'topic');
    }
  }

  /** read_topic's `after`: a cursor it gave, "0", or a message id (see readTopic). */
  private async topicCursor(after: string): Promise<ArrivalCursor> {
    const written = parseArrivalCursor(after, 'after');
    if (written !== null) return written;
    const id = assertMessageId(after, 'after');
    const [envelope] = await this.messages.envelopes([id]);
    const stored =
      envelope?.mode === AddressingMode.TOPIC && envelope.target !== null
        ? await this.topicHistory.arrivalOf(envelope.target, id)
        : null;
    // Not a topic's message (or gone): after everything stored in its millisecond.
    return stored ?? { stamp: (messageIdTime(id) + 1) * 1_000 - 1, id: null };
  }

  private async newestOfTopic(pattern: string, limit: number): Promise<TopicReading> {
    // Read before the ids: whatever is stored after it comes after next_cursor.
    const mark = await this.topicHistory.arrivalMark(pattern);
    const ids = await this.topicHistory.newestIds(pattern, limit);
    // The newest are read newest first, so that the budget keeps the latest of them.
    const { messages, taken } = await this.wholeWithinAnswer(ids);
    return {
      topic: pattern,
      messages: messages.reverse(),
      next_cursor: formatArrivalCursor(mark),
      // Nothing follows the newest.
      more: false,
      left_out: ids.slice(taken).reverse(),
    };
  }

  private async topicAfter(
    pattern: string,
    cursor: ArrivalCursor,
    limit: number,
  ): Promise<TopicReading> {
    const reading = await this.topicHistory.arrivalsAfter(pattern, cursor, limit);
    const ids = reading.arrivals.map((arrival) => arrival.id);
    const { messages, taken } = await this.wholeWithinAnswer(ids);
    return {
      topic: pattern,
      messages,
      next_cursor: formatArrivalCursor(reading.arrivals[taken - 1] ?? cursor),
      // What did not fit follows.
      more: reading.more || taken < ids.length,
      left_out: [],
    };
  }

  /**
   * The first of `ids` whose bodies fit in one answer (MAX_ANSWER_BODY_BYTES, the first
   * always), whole, in the order given; `taken` of the ids were read (one gone is left out).
   */
  private async wholeWithinAnswer(
    ids: string[],
  ): Promise<{ messages: AgentMessage[]; taken: number }> {
    const within = await this.messages.readWithin(ids, ownBodyReads(MAX_ANSWER_BODY_BYTES));
    const found = ids.slice(0, within.taken).flatMap((id) => within.found.get(id) ?? []);
    return { messages: await this.wholeViews(found), taken: within.taken };
  }

  /**
   * Unread messages of the caller (of one thread, from one sender) at once when there are
   * some, else those that arrive (the first, and any pushed with it), else `timeout` after
   * `timeoutS`. The mailbox's feed is subscribed before the unread list is read, so that
   * nothing arriving in between is missed. `signal` ends the wait early (the client cancelled
   * or went away); `onTick` is called every few seconds while waiting, for progress
   * notifications.
   *
   * A wait is a subscriber of the mailbox, as a GraphQL feed is: a tracked message (sent with
   * require_ack) it hands over is an attempt at its delivery, and one whose retry found no
   * subscriber is pushed to it when it begins (DeliveryService.subscriberArrived). So a message
   * never acknowledged comes back with later waits until its attempts run out.
   *
   * The caller's token was checked when the call came; the wait ends UNAUTHENTICATED when it is
   * revoked, rotated or its mailbox deleted meanwhile, and gives no message to a token that is
   * no longer the mailbox's.
   */
  async waitForMessage(
    caller: MailboxPrincipal,
    options: {
      timeoutS: number;
      threadId: string | null;
      from: string | null;
      markRead: boolean;
      signal: AbortSignal;
      /** The MCP request's id: a `notifications/cancelled` naming it ends the wait. */
      requestId: string;
      onTick?: (waitedS: number) => void;
    },
  ): Promise<WaitOutcome> {
    const mailbox = caller.mailbox;
    const started = this.clock.now();
    // A SUBSCRIBE sent while the subscriber connection is down waits for it to come back,
    // however long that takes, and a wait could hear of no message meanwhile: answered as
    // any call that meets Redis away, before the mailbox is held.
    if (!this.pubsub.connected) {
      throw new RedisUnavailableError(
        `wait_for_message: the live feed of mailbox "${mailbox}" cannot be followed while Redis is unavailable`,
      );
    }
    const owner = await this.waits.acquire(mailbox, options.timeoutS * 1000 + WAIT_LOCK_MARGIN_MS);
    if (owner === null) {
      // The running wait may end any moment; its hold lapses this long after it at the latest.
      const heldMs = await this.waits.heldFor(mailbox);
      throw new WaitInProgressError(mailbox, Math.max(1, Math.ceil(heldMs / 1000)));
    }
    const unsubscribes: Array<() => Promise<void>> = [];
    const cleanups: Array<() => void> = [];
    try {
      const matches = (message: StoredMessage): boolean =>
        (options.threadId === null || message.threadId === options.threadId) &&
        (options.from === null || message.sender === options.from);
      // What the wait ends on: a stop (the timeout, the client's cancel or departure, the
      // token's revocation), or the first matching push.
      let stop: (why: WaitStop) => void = () => undefined;
      const stopped = new Promise<WaitStop>((resolve) => {
        stop = resolve;
        const timer = setTimeout(() => resolve('timeout'), options.timeoutS * 1000);
        cleanups.push(() => clearTimeout(timer));
        const abort = (): void => resolve('timeout');
        // A client gone before the wait began fires no event any more.
        if (options.signal.aborted) abort();
        options.signal.addEventListener('abort', abort, { once: true });
        cleanups.push(() => options.signal.removeEventListener('abort', abort));
        if (options.onTick) {
          const tick = options.onTick;
          const ticker = setInterval(() => tick((this.clock.now() - started) / 1000), 5_000);
          cleanups.push(() => clearInterval(ticker));
        }
      });
      // Matching messages pushed during the wait, by id (a retry replaces its earlier push),
      // in the order they came.
      const pushed = new Map<string, PushedMessage>();
      let woken: () => void = () => undefined;
      const pushedFirst = new Promise<'pushed'>((resolve) => {
        woken = () => resolve('pushed');
      });

      /**
       * Subscribes `listener` to `channel`, unless the wait stops first: a SUBSCRIBE the
       * connection could not send yet is not waited for past the timeout. One that completes
       * after the wait stopped is undone then.
       */
      const listen = async (channel: string, listener: ChannelListener): Promise<boolean> => {
        const subscribing = this.pubsub.subscribe(channel, listener);
        const first = await Promise.race([subscribing, stopped]);
        if (typeof first === 'function') {
          unsubscribes.push(first);
          return true;
        }
        void subscribing.then(
          (unsubscribe) => unsubscribe().catch(() => undefined),
          () => undefined,
        );
        return false;
      };
      // One at a time: should a later one fail, the earlier ones are already there to undo.
      const listening =
        (await listen(this.waits.cancelChannel(mailbox), (payload) => {
          // Payloads arrive parsed from JSON.
          if (payload === options.requestId) stop('timeout');
        })) &&
        // Every instance hears of a rotated or revoked token (its mailbox deleted, or its name
        // registered again); the process holds this channel already for its WebSockets.
        (await listen(this.auth.revocationChannel(), (payload) => {
          if ((payload as { digest?: unknown } | null)?.digest === caller.tokenDigest) {
            stop('revoked');
          }
        })) &&
        (await listen(this.records.feedChannel(mailbox), (payload) => {
          const message = fromPushPayload(payload);
          if (message === null || !matches(message)) return;
          if (pushed.has(message.id) || pushed.size < MAX_MESSAGES_PER_CALL) {
            pushed.set(message.id, message);
          }
          woken();
        }));
      if (!listening) return this.stoppedWith(await stopped, started);
      this.presence.seen(mailbox);
      // What does not fit one answer stays unread, for the next wait.
      const unread = await this.unreadMatching(mailbox, options.threadId, options.from);
      let messages: PushedMessage[] = unread;
      if (unread.length === 0) {
        // Tracked deliveries whose retry found no subscriber (the agent was between waits)
        // are pushed now, each as its next attempt, to this wait's listener: a message read
        // but not acknowledged comes back this way. Those of another thread or sender count an
        // attempt too, as any push to the mailbox's live subscribers does.
        const arrival = this.delivery
          .subscriberArrived(mailbox, NONE_PUSHED)
          .catch((error: unknown) =>
            this.logger.warn(
              `waiting deliveries of ${mailbox} not pushed to its wait: ${(error as Error).message}`,
            ),
          );
        const ended = await Promise.race([stopped, pushedFirst]);
        if (ended !== 'pushed') return this.stoppedWith(ended, started);
        // The arrival pushes what waited in one burst, each push counted as an attempt: the
        // answer takes them together (within the wait's time) rather than the first alone.
        await Promise.race([arrival, stopped]);
        messages = this.withinAnswer([...pushed.values()]);
      }
      // A client that went away gets nothing: leave its messages unread for the next wait.
      if (options.signal.aborted) return this.stoppedWith('timeout', started);
      if (!(await this.auth.stillHeld(mailbox, caller.tokenDigest))) throw tokenGone();
      // Handing over an unread tracked message is an attempt at its delivery, as a feed's
      // replay is: counted (once: one under way is not counted again), so that it is retried
      // and, never acknowledged, dead-lettered. A pushed one was counted by its push.
      const attempts =
        unread.length > 0
          ? await this.delivery.replayed(mailbox, unread)
          : new Map<string, number>();
      if (options.markRead) {
        await this.inbox.markRead(
          mailbox,
          messages.map((message) => message.id),
          null,
        );
      }
      return {
        status: 'messages',
        messages: await this.wholeViews(
          messages.map((message) => ({
            ...message,
            deliveryAttempt: attempts.get(message.id) ?? message.deliveryAttempt,
            read: options.markRead,
          })),
        ),
        waited_s: this.waitedS(started),
      };
    } finally {
      for (const cleanup of cleanups) cleanup();
      for (const unsubscribe of unsubscribes) await unsubscribe().catch(() => undefined);
      await this.waits.release(mailbox, owner).catch(() => undefined);
    }
  }

  /** The answer of a wait that stopped with no message: a timeout, or its token's refusal. */
  private stoppedWith(why: WaitStop, started: number): WaitOutcome {
    if (why === 'revoked') throw tokenGone();
    return { status: 'timeout', messages: [], waited_s: this.waitedS(started) };
  }

  /**
   * The first of `messages` and those after it that fit one answer's bodies
   * (MAX_ANSWER_BODY_BYTES). The rest are not answered: a new message stays unread for the
   * next wait, and a redelivery comes back with its next retry.
   */
  private withinAnswer(messages: PushedMessage[]): PushedMessage[] {
    const sizes = messages.map(
      (message) =>
        Buffer.byteLength(message.content) +
        Buffer.byteLength(JSON.stringify(message.metadata ?? null)),
    );
    return messages.slice(0, new BodyBudget(MAX_ANSWER_BODY_BYTES).take(sizes));
  }

  private waitedS(started: number): number {
    return Math.round((this.clock.now() - started) / 100) / 10;
  }

  /**
   * Up to MAX_MESSAGES_PER_CALL unread messages of the mailbox from `from` and of `threadId`
   * (null: any), however many others are unread before them: the inbox filters on each
   * message's sender and thread before it reads a body.
   */
  private async unreadMatching(
    mailbox: string,
    threadId: string | null,
    from: string | null,
  ): Promise<StoredMessage[]> {
    const found: StoredMessage[] = [];
    const reads = ownBodyReads(MAX_ANSWER_BODY_BYTES);
    let after: string | null = null;
    while (found.length < MAX_MESSAGES_PER_CALL) {
      let page: MessagePage;
      try {
        page = await this.inbox.unreadMatching(
          mailbox,
          MAX_MESSAGES_PER_CALL - found.length,
          after,
          { sender: from, threadId },
          reads,
        );
      } catch (error) {
        // The answer's share of bodies is read: the rest stays unread for the next wait.
        if (error instanceof BodyReadsExhaustedError) break;
        throw error;
      }
      found.push(...page.messages);
      if (!page.hasNextPage || page.endCursor === null) break;
      after = page.endCursor;
    }
    return found;
  }

  /** Ends the caller's wait serving MCP request `requestId`, on whichever instance it runs. */
  async cancelWait(caller: MailboxPrincipal, requestId: string): Promise<void> {
    await this.waits.cancel(caller.mailbox, requestId);
  }

  /** Confirms deliveries sent with require_ack; each id is answered on its own. */
  async acknowledge(
    caller: MailboxPrincipal,
    ids: string[],
  ): Promise<{ acknowledged: string[]; failed: Array<{ message_id: string; error: string }> }> {
    const acknowledged: string[] = [];
    const failed: Array<{ message_id: string; error: string }> = [];
    await Promise.all(
      ids.map(async (id) => {
        try {
          const confirmed = await this.delivery.confirm(caller.mailbox, id);
          // Too late (the message expired first) or failed before: not acknowledged.
          if (confirmed.status === DeliveryStatus.DELIVERED) acknowledged.push(id);
          else
            failed.push({
              message_id: id,
              error: `${confirmed.status}: ${confirmed.reason ?? 'the delivery is finished'}`,
            });
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          failed.push({ message_id: id, error: `${error.code}: ${error.message}` });
        }
      }),
    );
    return { acknowledged, failed };
  }

  /** Where a message the caller sent (or received) stands with each recipient. */
  async messageStatus(
    caller: MailboxPrincipal,
    messageId: string,
  ): Promise<{ message_id: string; tracked: boolean; recipients: RecipientStatus[] }> {
    const id = assertMessageId(messageId, 'message_id');
    // The envelope is all the status needs: the body is not read.
    const [message] = await this.messages.envelopes([id]);
    if (message === null || !(await this.messages.mayRead(message, caller))) {
      throw new AppError(
        'NOT_FOUND',
        `message_id: no message ${id} that this mailbox sent or received`,
        {
          field: 'message_id',
        },
      );
    }
    const confirmations = await this.delivery.status(id, caller);
    const tracked = confirmations.length > 0;
    const entries = tracked
      ? confirmations.map((entry) => ({
          mailbox: entry.mailbox,
          status: entry.status,
          attempts: entry.attempts.length,
        }))
      : message.mode === AddressingMode.DIRECT && message.target !== null
        ? [{ mailbox: message.target, status: 'STORED', attempts: 0 }]
        : [];
    const read = await Promise.all(
      entries.map(async (entry) => (await this.records.readFlags(entry.mailbox, [id]))[0] ?? false),
    );
    return {
      message_id: id,
      tracked,
      recipients: entries.map((entry, index) => ({ ...entry, read: read[index] })),
    };
  }
}

/** A mailbox's description: the `description` of the metadata it was registered with. */
function descriptionOf(metadata: unknown): string | null {
  if (metadata === null || typeof metadata !== 'object') return null;
  const description = (metadata as Record<string, unknown>).description;
  return typeof description === 'string' ? description : null;
}
