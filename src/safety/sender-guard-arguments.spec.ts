import {
  senderGuardArguments,
  senderGuardCallArguments,
  senderGuardSendArguments,
  type SendGuardRequest,
} from './safety.repository';

describe("send_guard's arguments in guarded-send.lua", () => {
  const request = (changes: Partial<SendGuardRequest> = {}): SendGuardRequest => ({
    sender: 'ana',
    recipient: 'bo',
    messageId: '01JF0000000000000000000000',
    contentDigest: 'c'.repeat(64),
    digest: 'd'.repeat(64),
    now: 1_700_000_000_000,
    pairLimitPerMinute: 60,
    duplicateWindowMs: 600_000,
    tokens: 12,
    defaultDailyBudget: 5_000,
    ...changes,
  });

  it("splits send-guard.lua's eight arguments into the call's three and each send's three", () => {
    const one = request();
    const [now, id, pairLimit, dupMs, tokens, defaultBudget, recipient, dayMs] =
      senderGuardArguments(one);
    expect(senderGuardCallArguments([one, request({ tokens: 3, now: 1 })])).toEqual([
      pairLimit,
      defaultBudget,
      dayMs,
    ]);
    expect(senderGuardSendArguments(one)).toEqual([now, dupMs, tokens]);
    // The two left out travel as the store's own id and recipient.
    expect([id, recipient]).toEqual([one.messageId, one.recipient]);
  });

  it('refuses sends whose configured limits differ, rather than guard one by the other', () => {
    expect(() => senderGuardCallArguments([request(), request({ pairLimitPerMinute: 0 })])).toThrow(
      'configured limits',
    );
    expect(() => senderGuardCallArguments([request(), request({ defaultDailyBudget: 1 })])).toThrow(
      'configured limits',
    );
  });
});
