/** GraphQL documents shared by the tests. */
export const MESSAGE_FIELDS = `
  id sender mode target content contentType subject metadata priority createdAt expiresAt
  requireConfirmation correlationId replyTo threadId deliveryAttempt
`;

export const REGISTER = `
  mutation Register($name: String!, $metadata: JSON) {
    registerMailbox(name: $name, metadata: $metadata) { token mailbox { name active createdAt } }
  }`;

export const DEACTIVATE = `
  mutation Deactivate($name: String!) { deactivateMailbox(name: $name) { name active } }`;

export const SEND = `
  mutation Send($input: SendMessageInput!) {
    sendMessage(input: $input) { messageId status recipients error }
  }`;

export const SEND_MANY = `
  mutation SendMany($inputs: [SendMessageInput!]!) {
    sendMessages(inputs: $inputs) { messageId status recipients error errorCode }
  }`;

export const MESSAGE = `
  query Message($id: ID!) { message(id: $id) { ${MESSAGE_FIELDS} } }`;

export const MAILBOX_PAGE = `
  query Page($name: String!, $first: Int, $after: ID) {
    mailbox(name: $name) {
      name active
      messages(first: $first, after: $after) {
        nodes { ${MESSAGE_FIELDS} }
        pageInfo { endCursor hasNextPage }
      }
    }
  }`;

export const TOPIC_PAGE = `
  query TopicPage($topic: String!, $first: Int, $after: ID) {
    topicMessages(topic: $topic, first: $first, after: $after) {
      nodes { id content target }
      pageInfo { endCursor hasNextPage }
    }
  }`;

export const MAILBOX_FEED = `
  subscription Feed($mailbox: String!, $after: ID) {
    mailboxMessages(mailbox: $mailbox, after: $after) { ${MESSAGE_FIELDS} }
  }`;

export const TOPIC_FEED = `
  subscription TopicFeed($pattern: String!) {
    topicMessages(pattern: $pattern) { id target content }
  }`;

export interface MessageView {
  id: string;
  sender: string;
  mode: string;
  target: string | null;
  content: string;
  contentType: string;
  subject: string | null;
  metadata: unknown;
  priority: string;
  createdAt: string;
  expiresAt: string | null;
  requireConfirmation: boolean;
  correlationId: string | null;
  replyTo: string | null;
  threadId: string | null;
  deliveryAttempt?: number | null;
}

export interface RouteView {
  messageId: string;
  status: 'SUCCESS' | 'QUEUED' | 'PARTIAL' | 'FAILED';
  recipients: number;
  error: string | null;
  errorCode?: string | null;
}

export interface PageView {
  nodes: MessageView[];
  pageInfo: { endCursor: string | null; hasNextPage: boolean };
}
