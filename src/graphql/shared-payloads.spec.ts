import type { ExecutionResult } from 'graphql';
import { MessageType, stringifyMessage } from 'graphql-ws';
import { SharedPayloads } from './shared-payloads';

/** The frame graphql-ws writes for a `next` with this payload. */
function nextFrame(id: string, payload: ExecutionResult): string {
  return stringifyMessage({ id, type: MessageType.Next, payload });
}

/** What a socket sends for a result: through `payload` (onNext), then `frame` (send). */
function sent(payloads: SharedPayloads, id: string, result: ExecutionResult): string {
  return payloads.frame(nextFrame(id, payloads.payload(id, result)));
}

describe(SharedPayloads.name, () => {
  it("writes the frame graphql-ws would have written with the result's payload", () => {
    const payloads = new SharedPayloads();
    const results: ExecutionResult[] = [
      { data: { mailboxMessages: { id: '01J', content: 'a "quoted" line\n\u0000 and more' } } },
      { data: { n: 1 }, extensions: { cost: 3 } },
      { data: null },
      {},
    ];
    for (const result of results) {
      const frame = sent(payloads, 'sub-1', result);
      expect(frame).toBe(nextFrame('sub-1', result));
      expect(JSON.parse(frame)).toEqual({ id: 'sub-1', type: 'next', payload: result });
    }
  });

  it('serializes a result once for every subscriber it is shared by', () => {
    let serialized = 0;
    const data = {
      toJSON() {
        serialized += 1;
        return { n: 1 };
      },
    };
    const frames = ['a', 'b', 'c'].map((id) => sent(new SharedPayloads(), id, { data }));

    expect(frames).toEqual(['a', 'b', 'c'].map((id) => nextFrame(id, { data: { n: 1 } })));
    expect(serialized).toBe(1);
  });

  it('keeps the subscriptions of one socket apart when their frames interleave', () => {
    const payloads = new SharedPayloads();
    const first = nextFrame('one', payloads.payload('one', { data: { n: 1 } }));
    const second = nextFrame('two', payloads.payload('two', { data: { n: 2 } }));

    expect(payloads.frame(second)).toBe(nextFrame('two', { data: { n: 2 } }));
    expect(payloads.frame(first)).toBe(nextFrame('one', { data: { n: 1 } }));
  });

  it('passes every other frame as it is, whatever its text', () => {
    const payloads = new SharedPayloads();
    const lookalike = '"payload":{"\u0000shared":0}}';
    const frames = [
      stringifyMessage({ id: 'x', type: MessageType.Complete }),
      stringifyMessage({ id: 'x', type: MessageType.Error, payload: [{ message: 'no' }] }),
      nextFrame('x', { data: { text: lookalike } }),
      nextFrame('x', { data: { [lookalike]: 0 } }),
    ];
    for (const frame of frames) expect(payloads.frame(frame)).toBe(frame);

    // A stand-in's very text, nested in a result's JSON at the end of its frame, naming a
    // subscription whose payload waits: the frame still passes as it is.
    const waiting = nextFrame('x', payloads.payload('x', { data: { n: 1 } }));
    const nested = nextFrame('y', { data: { metadata: { payload: { '\u0000shared': 'x' } } } });
    expect(payloads.frame(nested)).toBe(nested);
    expect(payloads.frame(waiting)).toBe(nextFrame('x', { data: { n: 1 } }));
  });

  it("replaces a subscription's stand-in once: a later frame that only looks like it passes as it is", () => {
    const payloads = new SharedPayloads();
    const standIn = payloads.payload('x', { data: { n: 1 } });
    expect(payloads.frame(nextFrame('x', standIn))).toBe(nextFrame('x', { data: { n: 1 } }));

    // The same stand-in again, with no payload waiting for it: graphql-ws's text is kept.
    expect(payloads.frame(nextFrame('x', standIn))).toBe(nextFrame('x', standIn));
    expect(sent(payloads, 'x', { data: { n: 2 } })).toBe(nextFrame('x', { data: { n: 2 } }));
  });

  it('forgets the payload of a subscription that ended before its frame was written', () => {
    const payloads = new SharedPayloads();
    const frame = nextFrame('gone', payloads.payload('gone', { data: { n: 1 } }));
    payloads.forget('gone');

    expect(payloads.frame(frame)).toBe(frame);
  });
});
