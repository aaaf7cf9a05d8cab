import { Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal';
import { Clock } from '../common/clock';
import { moreCharactersThan } from '../common/text-length';
import { MailboxRepository } from '../mailboxes/mailbox.repository';
import type { BodyReads } from '../messages/body-reads';
import { InvalidFieldError } from '../messages/message.errors';
import { assertMessageId } from '../messages/message-id';
import { MessageRepository, type IdPage } from '../messages/message.repository';
import { MessagesService, PAGE_SCAN_LIMIT, type MessagePage } from '../messages/messages.service';
import { checkPageArgs } from '../messages/page-args';
import type { StoredMessage } from '../messages/stored-message';
import { RedisKeys } from '../redis/redis-keys';
import { InboxRepository } from './inbox.repository';

/** Ids a filtered page looks at before it answers with what it found so far: as any page does. */
const SCAN_LIMIT = PAGE_SCAN_LIMIT;
const SCAN_SLICE = 200;
/** Ids one markRead call may name. */
export const MAX_MARK_IDS = 500;
const MAX_THREAD_ID = 256;

export interface MailboxFilter {
  unreadOnly: boolean;
  threadId: string | null;
}

/** Which messages a filtered page keeps, given the mailbox's flags for a slice of ids. */
type Keep = (ids: string[]) => Promise<boolean[]>;

/** Up to `count` of `ids` (in index order) after `cursor`, as a page of a message index. */
function idsAfter(ids: string[], cursor: string | null, count: number): IdPage {
  const rest = cursor === null ? ids : ids.filter((id) => id > cursor);
  return { ids: rest.slice(0, count), hasNextPage: rest.length > count };
}

/**
 * Inbox state and conversations: read marks, unread counts, filtered mailbox pages and
 * threads. Pages stay in id order with the id as cursor, so a filtered page resumes exactly
 * where the last one stopped.
 */
@Injectable()
export class InboxService {
  constructor(
    private readonly inbox: InboxRepository,
    private readonly mailboxes: MailboxRepository,
    private readonly messages: MessageRepository,
    private readonly reader: MessagesService,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
  ) {}

  unreadCount(mailbox: string): Promise<number> {
    return this.inbox.unreadCount(mailbox);
  }

  /** Marks the named messages, and every message up to `upTo`, read; returns how many were unread. */
  async markRead(mailbox: string, ids: string[] | null, upTo: string | null): Promise<number> {
    if ((ids === null || ids.length === 0) && upTo === null) {
      throw new InvalidFieldError('messageIds', 'or upTo is required: name what to mark read');
    }
    if (ids !== null && ids.length > MAX_MARK_IDS) {
      throw new InvalidFieldError(
        'messageIds',
        `must name at most ${MAX_MARK_IDS} ids`,
        MAX_MARK_IDS,
      );
    }
    const checked = (ids ?? []).map((id, index) => assertMessageId(id, `messageIds[${index}]`));
    const [byIds, byRange] = await Promise.all([
      this.inbox.markIds(mailbox, checked),
      upTo === null ? 0 : this.inbox.markUpTo(mailbox, assertMessageId(upTo, 'upTo')),
    ]);
    return byIds + byRange;
  }

  /** A page of the mailbox's messages, oldest first, with its read flags. */
  async mailboxPage(
    mailbox: string,
    first: number,
    after: string | null,
    filter: MailboxFilter,
    reads: BodyReads | null = null,
  ): Promise<MessagePage> {
    const threadId = filter.threadId === null ? null : checkThreadId(filter.threadId, 'threadId');
    if (threadId === null && !filter.unreadOnly) {
      const page = await this.reader.page(this.keys.mailboxMessages(mailbox), first, after, reads);
      return this.withReadFlags(mailbox, page);
    }
    const keep: Keep = async (ids) => {
      const [held, read] = await Promise.all([
        threadId === null ? ids.map(() => true) : this.inbox.inMailbox(mailbox, ids),
        filter.unreadOnly ? this.mailboxes.readFlags(mailbox, ids) : ids.map(() => false),
      ]);
      return ids.map((_, i) => held[i] && !read[i]);
    };
    const index =
      threadId === null ? this.keys.mailboxMessages(mailbox) : await this.threadSource(threadId);
    const start = threadId === null ? await this.unreadStart(mailbox, after) : after;
    const page = await this.filteredPage(index, first, start, keep, reads);
    return this.withReadFlags(mailbox, page);
  }

  /**
   * A page of the mailbox's unread messages from `sender` and of `threadId` (null: any),
   * oldest first. Each slice of ids is filtered on its read flags and on the messages' sender
   * and thread before any body is read, so a backlog of others costs small reads only.
   */
  async unreadMatching(
    mailbox: string,
    first: number,
    after: string | null,
    match: { sender: string | null; threadId: string | null },
    reads: BodyReads | null = null,
  ): Promise<MessagePage> {
    // Without a sender or a thread to match, the read flags alone decide.
    const filtered = match.sender !== null || match.threadId !== null;
    const keep: Keep = async (ids) => {
      const [read, fields] = await Promise.all([
        this.mailboxes.readFlags(mailbox, ids),
        filtered ? this.messages.envelopes(ids, this.clock.now()) : null,
      ]);
      return ids.map((_, i) => {
        if (read[i]) return false;
        if (fields === null) return true;
        const found = fields[i];
        return (
          found !== null &&
          (match.sender === null || found.sender === match.sender) &&
          (match.threadId === null || found.threadId === match.threadId)
        );
      });
    };
    const start = await this.unreadStart(mailbox, after);
    return this.filteredPage(this.keys.mailboxMessages(mailbox), first, start, keep, reads);
  }

  /**
   * Where a first page of a mailbox's unread messages starts: after its read prefix (every
   * message up to it is read), so that a long-lived mailbox's read messages are not walked
   * again, SCAN_LIMIT at a time, before its unread ones. A later page goes on from its cursor.
   */
  private async unreadStart(mailbox: string, after: string | null): Promise<string | null> {
    return after ?? (await this.inbox.readPrefixEnd(mailbox));
  }

  /**
   * A thread, oldest first: what the caller may read of it (the admin reads all), with the
   * read flags of a mailbox caller.
   */
  async thread(
    threadIdArg: string,
    first: number,
    after: string | null,
    principal: Principal,
    reads: BodyReads | null = null,
  ): Promise<MessagePage> {
    const threadId = checkThreadId(threadIdArg, 'id');
    const index = await this.threadSource(threadId);
    const keep: Keep | null =
      principal.kind === 'admin' ? null : (ids) => this.visible(ids, principal);
    const page = await this.filteredPage(index, first, after, keep, reads);
    return principal.kind === 'mailbox' ? this.withReadFlags(principal.mailbox, page) : page;
  }

  /**
   * The index to page for a thread. A thread of one message has no index (threadEntries):
   * when the thread id is a message id, the ids of a one-entry index of that message stand in
   * (found from its envelope: its body is read, if at all, as the page's).
   */
  private async threadSource(threadId: string): Promise<string | string[]> {
    const index = this.inbox.threadIndex(threadId);
    if ((await this.messages.pageIds(index, null, 1)).ids.length > 0) return index;
    let id: string;
    try {
      id = assertMessageId(threadId, 'threadId');
    } catch {
      return [];
    }
    const [envelope] = await this.messages.envelopes([id], this.clock.now());
    return envelope !== null && envelope.threadId === id ? [id] : [];
  }

  /**
   * Pages `index` (a message index, or the ids of one) after the cursor, keeping the ids
   * `keepIds` lets through, until the page is full, the index ends, SCAN_LIMIT ids were looked
   * at, or `reads` lets it take no more bodies: then it answers with what it has and the
   * cursor to go on from. It reads the bodies of kept ids only, no more than the page has
   * room for.
   */
  private async filteredPage(
    index: string | string[],
    firstArg: number,
    afterArg: string | null,
    keepIds: Keep | null,
    reads: BodyReads | null,
  ): Promise<MessagePage> {
    const { first, after } = checkPageArgs(firstArg, afterArg);
    const messages: StoredMessage[] = [];
    let cursor = after;
    let examined = 0;
    let more = true;
    while (more && messages.length < first && examined < SCAN_LIMIT) {
      const page = Array.isArray(index)
        ? idsAfter(index, cursor, SCAN_SLICE)
        : await this.messages.pageIds(index, cursor, SCAN_SLICE);
      examined += page.ids.length;
      more = page.hasNextPage;
      const kept = keepIds === null ? null : await keepIds(page.ids);
      const room = first - messages.length;
      const keptIds = kept === null ? page.ids : page.ids.filter((_, i) => kept[i]);
      const ids = keptIds.slice(0, room);
      const read = await this.messages.findWithin(ids, reads, this.clock.now());
      messages.push(...read.messages);
      if (read.taken < ids.length) {
        // The budget is spent: go on after the last id read, or refuse a page it left empty.
        if (read.taken === 0 && messages.length === 0 && reads !== null) throw reads.refusal();
        cursor = ids[read.taken - 1] ?? cursor;
        more = true;
        break;
      }
      if (ids.length < keptIds.length) {
        // The page is full, or some of what was read was gone: the ids left in this slice
        // are the next to look at.
        cursor = ids[ids.length - 1];
        more = true;
        continue;
      }
      cursor = page.ids.at(-1) ?? cursor;
    }
    return { messages, endCursor: cursor, hasNextPage: more };
  }

  /** Which of `ids` the principal may read, from their envelopes (no body is read). */
  private async visible(ids: string[], principal: Principal): Promise<boolean[]> {
    const [envelopes, registeredAt] = await Promise.all([
      this.messages.envelopes(ids, this.clock.now()),
      this.reader.registeredAt(principal),
    ]);
    return Promise.all(
      envelopes.map(async (envelope) =>
        envelope === null ? false : this.reader.mayRead(envelope, principal, registeredAt),
      ),
    );
  }

  private async withReadFlags(mailbox: string, page: MessagePage): Promise<MessagePage> {
    const read = await this.mailboxes.readFlags(
      mailbox,
      page.messages.map((message) => message.id),
    );
    return { ...page, read };
  }
}

export function checkThreadId(value: string, field: string): string {
  if (value.length === 0 || moreCharactersThan(value, MAX_THREAD_ID)) {
    throw new InvalidFieldError(field, `must be 1 to ${MAX_THREAD_ID} characters`, MAX_THREAD_ID);
  }
  return value;
}
