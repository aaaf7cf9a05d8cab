import type { MessageConnection } from './message-connection.model';
import type { MessagePage } from './messages.service';
import { toMessageModel } from './stored-message';

export function toConnection(page: MessagePage): MessageConnection {
  return {
    nodes: page.messages.map((message, index) => toMessageModel(message, page.read?.[index])),
    pageInfo: { endCursor: page.endCursor, hasNextPage: page.hasNextPage },
  };
}
