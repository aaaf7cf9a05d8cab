import { Injectable } from '@nestjs/common';
import { DeliveryConfirmationRepository } from '../delivery/delivery-confirmation.repository';
import { InboxService } from '../inbox/inbox.service';
import { MailboxRepository, type MailboxRecord } from '../mailboxes/mailbox.repository';
import { InvalidFieldError } from '../messages/message.errors';
import { SafetyRepository } from '../safety/safety.repository';
import { MailboxOrder, MailboxState } from './mailbox-page.model';

export const MAX_PAGE_SIZE = 200;
export const MAX_FILTER_LENGTH = 200;
/** Separate reads in flight at once when a sort or state needs a number of every mailbox. */
const READ_BATCH = 500;

export interface MailboxPageRequest {
  filter: string | null;
  state: MailboxState | null;
  orderBy: MailboxOrder;
  descending: boolean;
  offset: number;
  first: number;
}

interface Row {
  name: string;
  createdAt: number;
}

/**
 * A page of the mailbox list for the console's table: filtered by a part of the name and a
 * state, sorted, then sliced, so a table of 10,000 mailboxes holds one page. The names come
 * from the mailbox index in one read; a sort or state that needs a number per mailbox (unread,
 * pending, dead letters, presence) reads it for every mailbox that passed the name filter,
 * in batches of separate commands (each mailbox has a hash tag of its own), and only then
 * the page's records.
 */
@Injectable()
export class MailboxPageService {
  constructor(
    private readonly mailboxes: MailboxRepository,
    private readonly confirmations: DeliveryConfirmationRepository,
    private readonly inbox: InboxService,
    private readonly safety: SafetyRepository,
  ) {}

  async page(request: MailboxPageRequest): Promise<{ total: number; records: MailboxRecord[] }> {
    checkRequest(request);
    let rows = await this.mailboxes.allNamesWithCreation();
    if (request.filter) {
      const part = request.filter.toLowerCase();
      rows = rows.filter((row) => row.name.toLowerCase().includes(part));
    }
    rows = await this.keepState(rows, request.state);
    const sorted = await this.sort(rows, request.orderBy);
    if (request.descending) sorted.reverse();
    const names = sorted
      .slice(request.offset, request.offset + request.first)
      .map((row) => row.name);
    const records = new Map(
      (await this.mailboxes.findMany(names)).map((record) => [record.name, record]),
    );
    return {
      total: sorted.length,
      // A mailbox deleted between the two reads drops out of its page.
      records: names.flatMap((name) => records.get(name) ?? []),
    };
  }

  private async keepState(rows: Row[], state: MailboxState | null): Promise<Row[]> {
    switch (state) {
      case null:
        return rows;
      case MailboxState.ACTIVE:
      case MailboxState.INACTIVE: {
        const active = await this.mailboxes.activeSet();
        const wanted = state === MailboxState.ACTIVE;
        return rows.filter((row) => active.has(row.name) === wanted);
      }
      case MailboxState.PAUSED: {
        const paused = await this.safety.pausedMailboxes();
        return rows.filter((row) => paused.has(row.name));
      }
      case MailboxState.ONLINE: {
        const online = await this.mailboxes.online(rows.map((row) => row.name));
        return rows.filter((_, index) => online[index]);
      }
      case MailboxState.DEAD_LETTERED: {
        const counts = await this.numbers(rows, (name) => this.confirmations.deadLetterCount(name));
        return rows.filter((_, index) => counts[index] > 0);
      }
    }
  }

  /**
   * The rows in the order asked for, ascending; ties by name. Names go in any case, as a
   * reader looks for them ("alice" before "Bob"), then by their exact text.
   */
  private async sort(rows: Row[], orderBy: MailboxOrder): Promise<Row[]> {
    const folded = new Map(rows.map((row) => [row.name, row.name.toLowerCase()]));
    const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
    const byName = (a: Row, b: Row): number =>
      compare(folded.get(a.name) as string, folded.get(b.name) as string) ||
      compare(a.name, b.name);
    let keys: number[];
    switch (orderBy) {
      case MailboxOrder.NAME:
        return [...rows].sort(byName);
      case MailboxOrder.CREATED:
        keys = rows.map((row) => row.createdAt);
        break;
      case MailboxOrder.LAST_SEEN:
        // What the table shows (`lastSeenAt`, never for a mailbox not seen yet), not the seen
        // index, which counts a registration as a sighting (for BROADCAST_ACTIVE_WITHIN).
        keys = await this.numbers(rows, (name) => this.mailboxes.lastSeenAt(name));
        break;
      case MailboxOrder.UNREAD:
        keys = await this.numbers(rows, (name) => this.inbox.unreadCount(name));
        break;
      case MailboxOrder.PENDING:
        keys = await this.numbers(rows, (name) => this.confirmations.pendingOf(name));
        break;
      case MailboxOrder.DEAD_LETTERS:
        keys = await this.numbers(rows, (name) => this.confirmations.deadLetterCount(name));
        break;
    }
    return rows
      .map((row, index) => ({ row, key: keys[index] }))
      .sort((a, b) => a.key - b.key || byName(a.row, b.row))
      .map(({ row }) => row);
  }

  private async numbers(rows: Row[], read: (name: string) => Promise<number>): Promise<number[]> {
    const result: number[] = [];
    for (let index = 0; index < rows.length; index += READ_BATCH) {
      result.push(
        ...(await Promise.all(rows.slice(index, index + READ_BATCH).map((row) => read(row.name)))),
      );
    }
    return result;
  }
}

function checkRequest({ filter, offset, first }: MailboxPageRequest): void {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new InvalidFieldError('first', `must be from 1 to ${MAX_PAGE_SIZE}`, MAX_PAGE_SIZE);
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new InvalidFieldError('offset', 'must be a whole number from 0');
  }
  if (filter !== null && filter.length > MAX_FILTER_LENGTH) {
    throw new InvalidFieldError(
      'filter',
      `${filter.length} characters; the limit is ${MAX_FILTER_LENGTH}`,
      MAX_FILTER_LENGTH,
    );
  }
}
