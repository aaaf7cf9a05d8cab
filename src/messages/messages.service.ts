import { Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal';
import { MailboxRepository } from '../mailboxes/mailbox.repository';
import { AddressingMode } from './message.model';
import { MessageRepository } from './message.repository';
import { assertMessageId } from './message-id';
import { checkPageArgs } from './page-args';
import type { StoredMessage } from './stored-message';

export interface MessagePage {
  messages: StoredMessage[];
  /** Per message, for the mailbox that reads the page: whether it marked the message read. */
  read?: boolean[];
  endCursor: string | null;
  hasNextPage: boolean;
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
   * Who may read a message by id: the admin, its sender, a DIRECT message's target, anyone for
   * a TOPIC message (topics are readable by every token), and a BROADCAST recipient that
   * holds it in its mailbox.
   */
  async mayRead(message: StoredMessage, principal: Principal): Promise<boolean> {
    if (principal.kind === 'admin' || principal.mailbox === message.sender) return true;
    switch (message.mode) {
      case AddressingMode.TOPIC:
        return true;
      case AddressingMode.DIRECT:
        return message.target === principal.mailbox;
      case AddressingMode.BROADCAST:
        return this.mailboxes.holds(principal.mailbox, message.id);
    }
  }

  /**
   * A page of unexpired messages after the cursor, oldest first. Expired or vanished
   * entries are skipped and the page is filled from further ids, so a page is short only
   * at the end of the index.
   */
  async page(
    indexKey: string,
    firstArg: number,
    afterArg: string | null | undefined,
  ): Promise<MessagePage> {
    const { first, after } = checkPageArgs(firstArg, afterArg);
    const messages: StoredMessage[] = [];
    let cursor = after;
    let hasNextPage: boolean;
    do {
      const page = await this.messages.pageIds(indexKey, cursor, first - messages.length);
      messages.push(...(await this.messages.findMany(page.ids)));
      cursor = page.ids.at(-1) ?? cursor;
      hasNextPage = page.hasNextPage;
    } while (hasNextPage && messages.length < first);
    // The last id looked at, expired ones included: they never come back, so skip them for good.
    return { messages, endCursor: cursor, hasNextPage };
  }
}
