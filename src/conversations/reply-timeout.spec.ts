import { messageIdTime, newMessageId } from '../messages/message-id';
import { replyTimeoutNoticeId } from './reply-timeout';

describe('replyTimeoutNoticeId', () => {
  const handledAt = Date.UTC(2026, 0, 2, 3, 4, 5, 6);

  it('is one id for one request, on every instance and attempt', () => {
    const request = newMessageId();
    expect(replyTimeoutNoticeId(request, handledAt)).toBe(replyTimeoutNoticeId(request, handledAt));
  });

  it('carries the time the timeout was first handled', () => {
    expect(messageIdTime(replyTimeoutNoticeId(newMessageId(), handledAt))).toBe(handledAt);
  });

  it('differs between requests, and from the request id itself', () => {
    const requests = Array.from({ length: 500 }, () => newMessageId());
    const ids = new Set(requests.map((request) => replyTimeoutNoticeId(request, handledAt)));
    expect(ids.size).toBe(requests.length);
    for (const request of requests) {
      expect(replyTimeoutNoticeId(request, messageIdTime(request))).not.toBe(request);
    }
  });
});
