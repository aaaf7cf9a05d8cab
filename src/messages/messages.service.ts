import { Injectable } from '@nestjs/common';
import { MessageRepository } from './message.repository';
import { assertMessageId } from './message-id';
import { checkPageArgs } from './page-args';
import type { StoredMessage } from './stored-message';

export interface MessagePage {
  messages: StoredMessage[];
  endCursor: string | null;
  hasNextPage: boolean;
}

/** Reads stored messages: by id, and by pages of an index (a mailbox's or a topic's). */
@Injectable()
export class MessagesService {
  constructor(private readonly messages: MessageRepository) {}

  async find(id: string): Promise<StoredMessage | null> {
    return this.messages.find(assertMessageId(id, 'id'));
  }

  /**
   * A page of unexpired messages after the cursor, oldest first. Expired or vanished
   * entries are skipped and the page is filled from further ids, so a page is short only
   * at the end of the index.
   */
  async page(indexKey: string, firstArg: number, afterArg: string | null | undefined): Promise<MessagePage> {
    const { first, after } = checkPageArgs(firstArg, afterArg);
    const messages: StoredMessage[] = [];
    let cursor = after;
    let hasNextPage = false;
    for (;;) {
      const wanted = first - messages.length;
      const page = await this.messages.pageIds(indexKey, cursor, wanted);
      const found = await this.messages.findMany(page.ids);
      messages.push(...found);
      cursor = page.ids.at(-1) ?? cursor;
      hasNextPage = page.hasNextPage;
      if (!page.hasNextPage || messages.length >= first) break;
    }
    // The last id looked at, expired ones included: they never come back, so skip them for good.
    return { messages, endCursor: cursor, hasNextPage };
  }
}
