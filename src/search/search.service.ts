import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { actingMailbox, type Principal } from '../auth/principal';
import { Clock } from '../common/clock';
import { AppConfigService } from '../config/app-config.service';
import { MailboxNotFoundError } from '../mailboxes/mailbox.errors';
import { MailboxRepository } from '../mailboxes/mailbox.repository';
import type { BodyReads } from '../messages/body-reads';
import { MessageRepository } from '../messages/message.repository';
import type { MessagePage } from '../messages/messages.service';
import type { StoredMessage } from '../messages/stored-message';
import { assertMailboxName } from '../routing/address';
import { SendEvents, type Enqueued } from '../store/send-events';
import { SearchDisabledError } from './search.errors';
import { SearchRepository } from './search.repository';
import { checkSearchQuery, type SearchQuery } from './search-query';
import { messageTerms } from './search-tokenizer';

/** Ids of the rarest term's index one script call looks at: bounds the time Redis is held. */
export const SCAN_PER_CALL = 1_000;
/** Ids looked at per search, over all its calls: a page may end early, with its cursor. */
export const SCAN_PER_SEARCH = 10_000;
/** Messages read per search to check their expiry and thread. */
export const LOAD_PER_SEARCH = 1_000;
/**
 * Whether indexing this message also trims the indexes of its terms of the ids the mailbox
 * dropped (retention, expiry): about one message in six, picked by the last character of its
 * id, so that an often used term is trimmed often and the cost is spread thin.
 */
export function trimsWith(id: string): boolean {
  return id.charCodeAt(id.length - 1) % 8 === 0;
}

/** Ids asked of one script call at least when a thread filter is given. */
const THREAD_FILTER_BATCH = 100;

export interface SearchArgs {
  query: string;
  mailbox: string | null | undefined;
  threadId: string | null | undefined;
  first: number | null | undefined;
  after: string | null | undefined;
}

/**
 * Full-text search of a mailbox's messages (subject and content). Indexes what the store step
 * announces it put in a mailbox, and answers searches from that mailbox's index only, so that
 * a caller finds nothing it may not read.
 */
@Injectable()
export class SearchService implements OnModuleInit {
  private readonly logger = new Logger(SearchService.name);

  constructor(
    private readonly config: AppConfigService,
    private readonly index: SearchRepository,
    private readonly messages: MessageRepository,
    private readonly mailboxes: MailboxRepository,
    private readonly events: SendEvents,
    private readonly clock: Clock,
  ) {}

  onModuleInit(): void {
    if (!this.config.search.enabled) return;
    this.events.onEnqueued((event) => this.indexEnqueued(event));
  }

  /**
   * Runs before the send is answered: one script call per message and mailbox. A failure is
   * logged and the send goes on: the message is stored and delivered, only not searchable.
   */
  private async indexEnqueued(event: Enqueued): Promise<void> {
    if (event.kind !== 'enqueued') return;
    const { message, mailbox } = event;
    const lapseAt = this.lapseAt(message);
    if (lapseAt !== null && lapseAt <= this.clock.now()) return;
    try {
      await this.index.index(
        mailbox,
        messageTerms(message.subject, message.content),
        message,
        lapseAt,
        trimsWith(message.id),
      );
    } catch (error) {
      this.logger.warn(
        `message ${message.id} is not searchable in mailbox "${mailbox}": ${(error as Error).message}`,
      );
    }
  }

  /**
   * When a message's index entries may go: at its expiry, or once retention (MAILBOX_MAX_AGE)
   * has taken it out of the mailbox, whichever comes first; null for never.
   */
  private lapseAt(message: StoredMessage): number | null {
    const maxAgeMs = this.config.retention.maxAgeMs;
    const aged = maxAgeMs > 0 ? message.createdAt + maxAgeMs : null;
    if (message.expiresAt === null) return aged;
    return aged === null ? message.expiresAt : Math.min(aged, message.expiresAt);
  }

  /** Whether searches are served: SEARCH_ENABLED, under which sends are indexed. */
  get enabled(): boolean {
    return this.config.search.enabled;
  }

  /**
   * The messages of one mailbox holding every query term, newest first. A mailbox token
   * searches its own mailbox (`mailbox` may be left out); the admin names one.
   */
  async search(
    principal: Principal,
    args: SearchArgs,
    reads: BodyReads | null = null,
  ): Promise<MessagePage> {
    if (!this.config.search.enabled) throw new SearchDisabledError();
    const mailbox = assertMailboxName(actingMailbox(principal, args.mailbox, 'mailbox'), 'mailbox');
    const page = await this.page(mailbox, checkSearchQuery(args), reads);
    const ids = page.messages.map((message) => message.id);
    return { ...page, read: await this.mailboxes.readFlags(mailbox, ids) };
  }

  /** Those of `ids` in thread `threadId`, by each message's thread alone. */
  private async inThread(ids: string[], threadId: string): Promise<string[]> {
    const fields = await this.messages.envelopes(ids);
    return ids.filter((_, i) => fields[i]?.threadId === threadId);
  }

  /**
   * Reads stretches of the index until the page has one result more than asked (so that
   * hasNextPage is exact) or the index ends. The scan and load budgets bound a search whose
   * terms or thread are rare in a large mailbox: it then answers the results found so far,
   * hasNextPage true, and the cursor where it stopped.
   */
  private async page(
    mailbox: string,
    query: SearchQuery,
    reads: BodyReads | null,
  ): Promise<MessagePage> {
    const now = this.clock.now();
    const found: StoredMessage[] = [];
    let cursor = query.after;
    let scanned = 0;
    let loaded = 0;
    let end = false;
    while (found.length <= query.first) {
      const budget = Math.min(SCAN_PER_CALL, SCAN_PER_SEARCH - scanned);
      // A thread filter drops most of what the terms match: read more per call. Results beyond
      // the page are found again by the next page, after its cursor.
      const need = query.first + 1 - found.length;
      const wanted =
        query.threadId === null
          ? need
          : Math.min(Math.max(need, THREAD_FILTER_BATCH), LOAD_PER_SEARCH - loaded);
      const stretch = await this.index.stretch(mailbox, query.terms, cursor, wanted, budget);
      if (!stretch.mailboxExists) throw new MailboxNotFoundError(mailbox, 'mailbox');
      // The thread filter reads each message's thread alone, and bodies only of the matches
      // the page has room for.
      const matching =
        query.threadId === null ? stretch.ids : await this.inThread(stretch.ids, query.threadId);
      const ids = matching.slice(0, need);
      const read = await this.messages.findWithin(ids, reads, now);
      found.push(...read.messages);
      if (read.taken < ids.length) {
        // The operation's bodies are spent: answer what was read, to go on after it.
        if (read.taken === 0 && found.length === 0 && reads !== null) throw reads.refusal();
        const messages = found.slice(0, query.first);
        const last = found.length > query.first ? messages.at(-1)?.id : ids[read.taken - 1];
        return { messages, endCursor: last ?? cursor, hasNextPage: true };
      }
      scanned += stretch.looked;
      loaded += stretch.ids.length;
      if (ids.length < matching.length) {
        // Some of those read were gone: the matches left in this stretch come next.
        cursor = ids[ids.length - 1];
      } else {
        cursor = stretch.last ?? cursor;
        end = stretch.end;
      }
      if (end || scanned >= SCAN_PER_SEARCH || loaded >= LOAD_PER_SEARCH) break;
    }
    if (found.length > query.first) {
      const messages = found.slice(0, query.first);
      return { messages, endCursor: messages[messages.length - 1].id, hasNextPage: true };
    }
    if (end) {
      return { messages: found, endCursor: found.at(-1)?.id ?? null, hasNextPage: false };
    }
    return { messages: found, endCursor: cursor, hasNextPage: true };
  }
}
