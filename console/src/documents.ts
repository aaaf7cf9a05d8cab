// The GraphQL documents the console sends, each typed with its result and variables.

/** A GraphQL document carrying its result and variable types (used by api.request/subscribe). */
export interface TypedDocument<TData, TVariables> {
  readonly query: string;
  /** Never set: only carries the types. */
  readonly types?: { data: TData; variables: TVariables };
}

type NoVariables = Record<string, never>;

function gql<TData, TVariables = NoVariables>(query: string): TypedDocument<TData, TVariables> {
  return { query };
}

// ---------------------------------------------------------------- statistics

export interface RouterStatistics {
  messagesRouted: number;
  messagesDelivered: number;
  messagesFailed: number;
  messagesRetried: number;
  routingErrors: number;
  validationErrors: number;
  pendingDeliveries: number;
  activeConfirmations: number;
  guardRefusals: number;
  tokensSent: number;
  running: boolean;
  connections: number;
}

export const STATISTICS = gql<{ routerStatistics: RouterStatistics }>(`
  query Statistics {
    routerStatistics {
      messagesRouted messagesDelivered messagesFailed messagesRetried routingErrors
      validationErrors pendingDeliveries activeConfirmations guardRefusals tokensSent
      running connections
    }
  }
`);

export const ONLINE_COUNT = gql<{ mailboxPage: { total: number } }>(`
  query OnlineCount {
    mailboxPage(state: ONLINE, first: 1) { total }
  }
`);

// ----------------------------------------------------------------- mailboxes

export type MailboxOrder = 'NAME' | 'CREATED' | 'LAST_SEEN' | 'UNREAD' | 'PENDING' | 'DEAD_LETTERS';
export type MailboxState = 'ACTIVE' | 'INACTIVE' | 'ONLINE' | 'PAUSED' | 'DEAD_LETTERED';

export interface MailboxRow {
  name: string;
  active: boolean;
  online: boolean;
  paused: boolean;
  lastSeenAt: string | null;
  createdAt: string;
  unreadCount: number;
  pendingCount: number;
  deadLetterCount: number;
}

export interface MailboxPageVariables {
  filter: string | null;
  state: MailboxState | null;
  orderBy: MailboxOrder;
  descending: boolean;
  offset: number;
  first: number;
}

export const MAILBOX_PAGE = gql<
  { mailboxPage: { total: number; offset: number; mailboxes: MailboxRow[] } },
  MailboxPageVariables
>(`
  query MailboxPage($filter: String, $state: MailboxState, $orderBy: MailboxOrder, $descending: Boolean, $offset: Int, $first: Int) {
    mailboxPage(filter: $filter, state: $state, orderBy: $orderBy, descending: $descending, offset: $offset, first: $first) {
      total offset
      mailboxes { name active online paused lastSeenAt createdAt unreadCount pendingCount deadLetterCount }
    }
  }
`);

export type MailboxChangeKind = 'REGISTERED' | 'DEACTIVATED' | 'DELETED' | 'PAUSED' | 'RESUMED';

export const MAILBOX_CHANGES = gql<{
  mailboxChanges: { name: string; kind: MailboxChangeKind; at: string };
}>(`
  subscription MailboxChanges { mailboxChanges { name kind at } }
`);

export const PAUSE_MAILBOX = gql<
  { pauseMailbox: { name: string; paused: boolean } },
  { name: string }
>(`
  mutation PauseMailbox($name: String!) { pauseMailbox(name: $name) { name paused } }
`);

export const RESUME_MAILBOX = gql<
  { resumeMailbox: { name: string; paused: boolean } },
  { name: string }
>(`
  mutation ResumeMailbox($name: String!) { resumeMailbox(name: $name) { name paused } }
`);

export interface ThreadBudget {
  threadId: string;
  paused: boolean;
  messages: number;
  spentTokens: number;
  maxTokens: number | null;
}

const THREAD_BUDGET_FIELDS = 'threadId paused messages spentTokens maxTokens';

export const THREAD_BUDGET = gql<{ threadBudget: ThreadBudget }, { id: string }>(`
  query ThreadBudget($id: String!) { threadBudget(threadId: $id) { ${THREAD_BUDGET_FIELDS} } }
`);

export const PAUSE_THREAD = gql<{ pauseThread: ThreadBudget }, { id: string }>(`
  mutation PauseThread($id: String!) { pauseThread(threadId: $id) { ${THREAD_BUDGET_FIELDS} } }
`);

export const RESUME_THREAD = gql<{ resumeThread: ThreadBudget }, { id: string }>(`
  mutation ResumeThread($id: String!) { resumeThread(threadId: $id) { ${THREAD_BUDGET_FIELDS} } }
`);

// ------------------------------------------------------------------ messages

export type AddressingMode = 'DIRECT' | 'BROADCAST' | 'TOPIC';

export interface PageInfo {
  endCursor: string | null;
  hasNextPage: boolean;
}

export interface MessageNode {
  id: string;
  sender: string;
  target: string | null;
  mode: AddressingMode;
  subject: string | null;
  content: string;
  contentType: string;
  threadId: string;
  inReplyTo: string | null;
  hop: number;
  createdAt: string;
  read: boolean;
  priority: string;
  tokenEstimate: number;
  requireConfirmation: boolean;
}

/**
 * A row of a mailbox's message list: the envelope and the body's first characters (`preview`,
 * and whether the body goes on past them), so that a page of large messages reads no more of
 * them than it shows. The body itself is read for the message shown (MESSAGE_BODY).
 */
export type MessageRow = Omit<MessageNode, 'content' | 'tokenEstimate'> & {
  preview: string;
  previewTruncated: boolean;
};

export interface MailboxDetail {
  name: string;
  unreadCount: number;
  pendingCount: number;
  deadLetterCount: number;
  paused: boolean;
  online: boolean;
  messages: { nodes: MessageRow[]; pageInfo: PageInfo };
}

export const MESSAGES = gql<
  { mailbox: MailboxDetail | null },
  { name: string; after: string | null; unreadOnly: boolean }
>(`
  query Messages($name: String!, $after: ID, $unreadOnly: Boolean) {
    mailbox(name: $name) { name unreadCount pendingCount deadLetterCount paused online
      messages(first: 50, after: $after, unreadOnly: $unreadOnly) {
        nodes { id sender target mode subject preview previewTruncated contentType threadId inReplyTo hop createdAt read priority requireConfirmation }
        pageInfo { endCursor hasNextPage } } }
  }
`);

export const MESSAGE_BODY = gql<
  { message: Pick<MessageNode, 'content' | 'tokenEstimate'> | null },
  { id: string }
>(`
  query Body($id: ID!) { message(id: $id) { content tokenEstimate } }
`);

/** The body alone, read when a listed message is opened ("Show full message"). */
export const MESSAGE_CONTENT = gql<
  { message: Pick<MessageNode, 'content'> | null },
  { id: string }
>(`
  query Content($id: ID!) { message(id: $id) { content } }
`);

export interface DeliveryAttempt {
  number: number;
  at: string;
  error: string | null;
  latencyMs: number | null;
}

export interface Delivery {
  mailbox: string;
  status: 'DELIVERED' | 'EXPIRED' | 'FAILED' | 'PENDING';
  reason: string | null;
  nextRetryAt: string | null;
  deliveredAt: string | null;
  waitingForSubscriber: boolean;
  attempts: DeliveryAttempt[];
}

export const DELIVERIES = gql<{ deliveryStatus: Delivery[] }, { id: string }>(`
  query Deliveries($id: ID!) {
    deliveryStatus(messageId: $id) {
      mailbox status reason nextRetryAt deliveredAt waitingForSubscriber
      attempts { number at error latencyMs }
    }
  }
`);

/**
 * A message of a thread or a topic as the list shows it: its body's preview, the body itself
 * read for the one opened (MESSAGE_CONTENT).
 */
export type ListedMessage = Pick<
  MessageRow,
  'id' | 'sender' | 'subject' | 'preview' | 'previewTruncated' | 'createdAt'
>;

export type ThreadMessage = ListedMessage & Pick<MessageRow, 'target' | 'hop' | 'inReplyTo'>;

export const THREAD = gql<
  { thread: { nodes: ThreadMessage[]; pageInfo: PageInfo } },
  { id: string; after: string | null }
>(`
  query Thread($id: String!, $after: ID) {
    thread(id: $id, first: 50, after: $after) {
      nodes { id sender target subject preview previewTruncated createdAt hop inReplyTo }
      pageInfo { endCursor hasNextPage }
    }
  }
`);

// -------------------------------------------------------------- dead letters

/**
 * A dead letter as the list shows it: no field of its message's body, so that the list reads
 * none of it and only the messages' metadata counts against the 64 MiB of bodies an operation
 * may read (DEAD_LETTER_PREVIEWS reads the previews apart).
 */
export interface DeadLetter {
  mailbox: string;
  reason: string;
  attempts: number;
  deadLetteredAt: string;
  /** Where the next page (`before`) starts. */
  cursor: string;
  message: Pick<MessageNode, 'id' | 'sender' | 'subject' | 'threadId'>;
}

const DEAD_LETTER_FIELDS =
  'mailbox reason attempts deadLetteredAt cursor message { id sender subject threadId }';

/**
 * The dead letters of every mailbox, and how many there are at least: the list comes back
 * short of first, with no other sign, when its messages pass what an operation may read. The
 * count is the dead-lettered mailboxes' (the 200 with the most in full, 1 for each other).
 */
export const DEAD_LETTERS = gql<
  {
    deadLetters: DeadLetter[];
    mailboxPage: { total: number; mailboxes: Array<{ deadLetterCount: number }> };
  },
  { first: number; before: string | null }
>(`
  query Dead($first: Int, $before: String) {
    deadLetters(first: $first, before: $before) { ${DEAD_LETTER_FIELDS} }
    mailboxPage(state: DEAD_LETTERED, orderBy: DEAD_LETTERS, descending: true, first: 200) {
      total mailboxes { deadLetterCount }
    }
  }
`);

/** The dead letters of one mailbox, and how many it has (DEAD_LETTERS). */
export const MAILBOX_DEAD_LETTERS = gql<
  { deadLetters: DeadLetter[]; mailbox: { deadLetterCount: number } | null },
  { mailbox: string; first: number; before: string | null }
>(`
  query MailboxDead($mailbox: String!, $first: Int, $before: String) {
    deadLetters(first: $first, mailbox: $mailbox, before: $before) { ${DEAD_LETTER_FIELDS} }
    mailbox(name: $mailbox) { deadLetterCount }
  }
`);

export interface DeadLetterPreview {
  mailbox: string;
  message: Pick<MessageRow, 'id' | 'preview' | 'previewTruncated'>;
}

/**
 * The previews of the dead letters' bodies, in an operation of their own: Redis reads each
 * body whole to cut its preview, and counts it so, so this list may stop short of the other.
 */
export const DEAD_LETTER_PREVIEWS = gql<
  { deadLetters: DeadLetterPreview[] },
  { mailbox: string | null; first: number; before: string | null }
>(`
  query DeadPreviews($mailbox: String, $first: Int, $before: String) {
    deadLetters(first: $first, mailbox: $mailbox, before: $before) {
      mailbox message { id preview previewTruncated }
    }
  }
`);

interface DeadLetterAction {
  mailbox: string;
  messageIds: string[] | null;
}

export const REDRIVE_DEAD_LETTERS = gql<{ redriveDeadLetters: number }, DeadLetterAction>(`
  mutation Redrive($mailbox: String!, $messageIds: [ID!]) {
    redriveDeadLetters(mailbox: $mailbox, messageIds: $messageIds)
  }
`);

export const PURGE_DEAD_LETTERS = gql<{ purgeDeadLetters: number }, DeadLetterAction>(`
  mutation Purge($mailbox: String!, $messageIds: [ID!]) {
    purgeDeadLetters(mailbox: $mailbox, messageIds: $messageIds)
  }
`);

// -------------------------------------------------------------------- topics

export interface Topic {
  name: string;
  messageCount: number;
  createdAt: string;
  lastMessageAt: string;
}

export const TOPICS = gql<
  { topics: { nodes: Topic[]; pageInfo: PageInfo } },
  { pattern: string | null; after: string | null }
>(`
  query Topics($pattern: String, $after: ID) {
    topics(first: 50, pattern: $pattern, after: $after) {
      nodes { name messageCount createdAt lastMessageAt }
      pageInfo { endCursor hasNextPage }
    }
  }
`);

export const TOPIC_MESSAGES = gql<
  { topicMessages: { nodes: ListedMessage[]; pageInfo: PageInfo } },
  { topic: string; after: string | null }
>(`
  query TopicMessages($topic: String!, $after: ID) {
    topicMessages(topic: $topic, first: 50, after: $after) {
      nodes { id sender subject preview previewTruncated createdAt }
      pageInfo { endCursor hasNextPage }
    }
  }
`);

// ------------------------------------------------------------------- compose

export interface SendMessageInput {
  sender: string;
  mode: AddressingMode;
  content: string;
  target?: string;
  subject?: string;
  threadId?: string;
  replyWithinSeconds?: number;
  requireConfirmation?: boolean;
  idempotencyKey?: string;
}

export interface RouteResult {
  status: 'SUCCESS' | 'QUEUED' | 'PARTIAL' | 'FAILED';
  messageId: string;
  recipients: number;
  threadId: string | null;
  error: string | null;
  errorCode: string | null;
}

export const SEND_MESSAGE = gql<{ sendMessage: RouteResult }, { input: SendMessageInput }>(`
  mutation Send($input: SendMessageInput!) {
    sendMessage(input: $input) { status messageId recipients threadId error errorCode }
  }
`);
