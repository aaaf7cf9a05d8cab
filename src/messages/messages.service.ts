import { Injectable } from '@nestjs/common';
import { ForbiddenError, type Principal } from '../auth/principal';
import { MailboxRepository } from '../mailboxes/mailbox.repository';
import type { BodyReads } from './body-reads';
import { AddressingMode } from './message.model';
import { MessageRepository, type MessageEnvelope } from './message.repository';
import { assertMessageId, messageIdTime } from './message-id';
import { checkPageArgs } from './page-args';
import type { StoredMessage } from './stored-message';

export interface MessagePage {
  messages: StoredMessage[];
  /** Per message, for the mailbox that reads the page: whether it marked the message read. */
  read?: boolean[];
  endCursor: string | null;
  hasNextPage: boolean;
}

/**
 * Ids one page of an index looks at before it answers with what it found so far: as a
 * filtered mailbox page does (SCAN_LIMIT in src/inbox/inbox.service.ts), so that a run of
 * entries whose messages are gone costs a bounded number of reads.
 */
export const PAGE_SCAN_LIMIT = 5_000;
/** Ids read from an index at once while a page passes entries whose messages are gone. */
const PAGE_SCAN_SLICE = 200;

/**
 * How far apart the clocks of two instances may be: a message its mailbox sent right after
 * registering, stamped by another instance, may carry a time that much before the
 * registration's.
 */
const CLOCK_SKEW_MS = 5_000;

/**
 * Whether a message is one a mailbox registered at `registeredAt` (epoch ms; null: no such
 * mailbox) may own by its name, as sender or recipient: one from its registration on. A
 * mailbox deleted and registered again under the name does not own the old one's.
 */
export function ownedByName(messageId: string, registeredAt: number | null): boolean {
  return registeredAt !== null && messageIdTime(messageId) >= registeredAt - CLOCK_SKEW_MS;
}

/** Reads stored messages: by id, and by pages of an index (a mailbox's or a topic's). */
@Injectable()
export class MessagesService {
  constructor(
    private readonly messages: MessageRepository,
    private readonly mailboxes: MailboxRepository,
  ) {}

  async find(id: string): Promise<StoredMessage | null> {
    return this.messages.find(assertMessageId(id, 'id'));
  }

  /**
   * The message `id` for `principal`, its body taken from `reads`: null when it is unknown or
   * expired, FORBIDDEN when the principal may not read it. Who may read it is decided from its
   * envelope, before its body is read or counted.
   */
  async findReadable(
    id: string,
    principal: Principal,
    reads: BodyReads,
  ): Promise<StoredMessage | null> {
    const checked = assertMessageId(id, 'id');
    const [[envelope], sizes] = await Promise.all([
      this.messages.envelopes([checked]),
      this.messages.sizes([checked]),
    ]);
    if (envelope === null) return null;
    if (!(await this.mayRead(envelope, principal))) {
      throw new ForbiddenError(
        'id',
        'this message is neither from nor to the mailbox of this token',
      );
    }
    if (reads.take(sizes) === 0) throw reads.refusal();
    return this.messages.find(checked);
  }

  /** Whether `mailbox` marked the message read. */
  async markedRead(mailbox: string, id: string): Promise<boolean> {
    const [read] = await this.mailboxes.readFlags(mailbox, [id]);
    return read;
  }

  /** What each of `ids` (checked ids) says of itself besides its body; null when gone. */
  async envelopes(ids: string[]): Promise<Array<MessageEnvelope | null>> {
    return this.messages.envelopes(ids);
  }

  /**
   * The messages of the first of `ids` (checked ids) whose bodies `reads` lets this read take,
   * by id (unknown and expired ones absent), with how many ids that covers.
   */
  async readWithin(
    ids: string[],
    reads: BodyReads,
  ): Promise<{ found: Map<string, StoredMessage>; taken: number }> {
    const { messages, taken } = await this.messages.findWithin(ids, reads);
    return { found: new Map(messages.map((message) => [message.id, message])), taken };
  }

  /**
   * Who may read a message by id: the admin, its sender, a DIRECT message's target, anyone for
   * a TOPIC message (topics are readable by every token), and a BROADCAST recipient that
   * holds it in its mailbox. A mailbox is the sender or the target of a message by name only
   * from its own registration on: one deleted and registered again under the name (another
   * agent, say) does not own what the old one sent or was sent. `registeredAt`: when the
   * principal's mailbox was registered, when the caller has read it already (null: unknown).
   */
  async mayRead(
    message: Pick<StoredMessage, 'id' | 'sender' | 'mode' | 'target'>,
    principal: Principal,
    registeredAt?: number | null,
  ): Promise<boolean> {
    if (principal.kind === 'admin') return true;
    const named =
      principal.mailbox === message.sender ||
      (message.mode === AddressingMode.DIRECT && message.target === principal.mailbox);
    if (named) {
      const since = registeredAt ?? (await this.mailboxes.registeredAt(principal.mailbox));
      return ownedByName(message.id, since);
    }
    switch (message.mode) {
      case AddressingMode.TOPIC:
        return true;
      case AddressingMode.DIRECT:
        return false;
      case AddressingMode.BROADCAST:
        return this.mailboxes.holds(principal.mailbox, message.id);
    }
  }

  /** When the principal's mailbox was registered, for several mayRead calls (null: admin, none). */
  async registeredAt(principal: Principal): Promise<number | null> {
    return principal.kind === 'admin' ? null : this.mailboxes.registeredAt(principal.mailbox);
  }

  /**
   * A page of unexpired messages after the cursor, oldest first. Expired or vanished
   * entries are skipped and the page is filled from further ids, so a page is short only
   * at the end of the index, where `reads` lets it take no more bodies, or once it has looked
   * at PAGE_SCAN_LIMIT ids (hasNextPage true: the next page goes on from there).
   */
  async page(
    indexKey: string,
    firstArg: number,
    afterArg: string | null | undefined,
    reads: BodyReads | null = null,
  ): Promise<MessagePage> {
    const { first, after } = checkPageArgs(firstArg, afterArg);
    const messages: StoredMessage[] = [];
    let cursor = after;
    let examined = 0;
    let more = true;
    // Whether ids whose message is gone turned up: from then on ids are read a slice at a time
    // and checked by their envelopes (small reads) before any body is, so a run of them costs
    // a round trip per slice rather than per id.
    let lapsed = false;
    while (more && messages.length < first && examined < PAGE_SCAN_LIMIT) {
      const room = first - messages.length;
      const wanted = lapsed ? Math.max(room, PAGE_SCAN_SLICE) : room;
      const slice = await this.messages.pageIds(
        indexKey,
        cursor,
        Math.min(wanted, PAGE_SCAN_LIMIT - examined),
      );
      more = slice.hasNextPage;
      let present = slice.ids;
      if (lapsed) {
        const envelopes = await this.messages.envelopes(present);
        present = present.filter((_, index) => envelopes[index] !== null);
      }
      const ids = present.slice(0, room);
      const read = await this.messages.findWithin(ids, reads);
      messages.push(...read.messages);
      if (read.taken < ids.length) {
        // The budget is spent: go on after the last id read, or refuse a page it left empty.
        if (read.taken === 0 && messages.length === 0 && reads !== null) throw reads.refusal();
        cursor = ids[read.taken - 1] ?? cursor;
        more = true;
        break;
      }
      if (read.messages.length < ids.length) lapsed = true;
      if (ids.length < present.length) {
        // The page is full, or some of what was read was gone: the ids left in this slice
        // are the next to look at.
        cursor = ids[ids.length - 1];
        examined += slice.ids.indexOf(cursor) + 1;
        more = true;
        continue;
      }
      // The last id looked at, expired ones included: they never come back, so skip them for good.
      cursor = slice.ids.at(-1) ?? cursor;
      examined += slice.ids.length;
    }
    return { messages, endCursor: cursor, hasNextPage: more };
  }
}
