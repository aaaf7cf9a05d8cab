import { derivedMessageId } from '../messages/message-id';

/** `metadata.type` of the notice a requester gets when nobody answered in time. */
export const REPLY_TIMEOUT = 'reply.timeout';

/**
 * The id of the timeout notice for a request, the same on every instance and every attempt:
 * the time the timeout was first handled (see RequestDeadlineRepository.stampTimeout) and a
 * digest of the request id. A notice written twice is therefore one message, stored and put
 * in the requester's mailbox once.
 */
export function replyTimeoutNoticeId(requestId: string, handledAt: number): string {
  return derivedMessageId(handledAt, `${REPLY_TIMEOUT}:${requestId}`);
}
