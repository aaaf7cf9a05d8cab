import { decodeTime, monotonicFactory } from 'ulid';
import { AppError } from '../common/app-error';
import { newMessageId } from './message-id';
import {
  enrich,
  MAX_TTL_SECONDS,
  messageBytes,
  scopeError,
  utf8Bytes,
  validateSendInput,
  type CheckedSend,
  type MessageLimits,
} from './message-validation';
import { AddressingMode, MessagePriority } from './message.model';
import type { SendMessageInput } from './send-message.input';

const limits: MessageLimits = { maxPayloadBytes: 100, maxMessageBytes: 200, maxJsonDepth: 4 };

/** `depth` objects, each the only entry of the one around it: `{"a":{"a":{}}}` is depth 3. */
function nested(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let level = 1; level < depth; level += 1) value = { a: value };
  return value;
}

function direct(overrides: Partial<SendMessageInput> = {}): SendMessageInput {
  return {
    sender: 'alice',
    mode: AddressingMode.DIRECT,
    target: 'bob',
    content: 'hello',
    ...overrides,
  };
}

/** The AppError `validateSendInput` throws for `input`; fails the test when it throws nothing. */
function rejection(input: SendMessageInput, given: MessageLimits = limits): AppError {
  try {
    validateSendInput(input, given);
  } catch (error: unknown) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

function expectBadField(input: SendMessageInput, field: string): AppError {
  const error = rejection(input);
  expect(error.code).toBe('BAD_USER_INPUT');
  expect(error.details.field).toBe(field);
  expect(error.message.startsWith(`${field}: `)).toBe(true);
  return error;
}

describe(validateSendInput.name, () => {
  describe('target', () => {
    it('accepts a DIRECT send to a mailbox name', () => {
      expect(validateSendInput(direct(), limits).message.target).toBe('bob');
    });

    it.each([undefined, null])('rejects a DIRECT send whose target is %j', (target) => {
      expectBadField(direct({ target }), 'target');
    });

    it.each(['bob smith', '*', '{bob}', '.bob', 'a:b', 'x'.repeat(129)])(
      'rejects a DIRECT send to %j',
      (target) => {
        expectBadField(direct({ target }), 'target');
      },
    );

    it('accepts a TOPIC send to a concrete topic', () => {
      const checked = validateSendInput(
        direct({ mode: AddressingMode.TOPIC, target: 'agents.planner.status' }),
        limits,
      );

      expect(checked.message.mode).toBe(AddressingMode.TOPIC);
      expect(checked.message.target).toBe('agents.planner.status');
    });

    it.each([undefined, null, 'agents.*', 'agents.#', '#', 'a..b', 'a b'])(
      'rejects a TOPIC send to %j',
      (target) => {
        expectBadField(direct({ mode: AddressingMode.TOPIC, target }), 'target');
      },
    );

    it.each([undefined, null])('accepts a BROADCAST send whose target is %j', (target) => {
      const checked = validateSendInput(direct({ mode: AddressingMode.BROADCAST, target }), limits);

      expect(checked.message.target).toBeNull();
    });

    it.each(['bob', ''])('rejects a BROADCAST send with the target %j', (target) => {
      expectBadField(direct({ mode: AddressingMode.BROADCAST, target }), 'target');
    });
  });

  it('rejects a sender that is not a mailbox name', () => {
    expectBadField(direct({ sender: 'alice smith' }), 'sender');
  });

  it('rejects an unknown mode', () => {
    expectBadField(direct({ mode: 'MULTICAST' as AddressingMode }), 'mode');
  });

  describe('content size', () => {
    it('accepts content of exactly the payload limit', () => {
      const content = 'x'.repeat(100);

      expect(validateSendInput(direct({ content }), limits).message.content).toBe(content);
    });

    it('rejects content one byte over the payload limit with PAYLOAD_TOO_LARGE', () => {
      const error = rejection(direct({ content: 'x'.repeat(101) }));

      expect(error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(error.details).toMatchObject({ field: 'content', limit: 100, actual: 101 });
      expect(error.message).toContain('100');
    });

    it('counts multi-byte characters as their UTF-8 bytes', () => {
      // 50 characters, 100 bytes: fits; one more 'é' is 51 characters but 102 bytes.
      expect(validateSendInput(direct({ content: 'é'.repeat(50) }), limits).message.content).toBe(
        'é'.repeat(50),
      );

      const error = rejection(direct({ content: 'é'.repeat(51) }));
      expect(error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(error.details).toMatchObject({ field: 'content', limit: 100, actual: 102 });
    });

    it('rejects a message whose fields together exceed the message limit', () => {
      // 100 bytes of content fit the payload limit; the subject pushes the whole past 200.
      const error = rejection(direct({ content: 'x'.repeat(100), subject: 's'.repeat(90) }));

      expect(error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(error.details).toMatchObject({ field: 'message', limit: 200 });
    });

    it('counts metadata against the message limit', () => {
      const metadata = { note: 'm'.repeat(150) };

      const error = rejection(direct({ content: 'x'.repeat(50), metadata }));

      expect(error.code).toBe('PAYLOAD_TOO_LARGE');
      expect(error.details.field).toBe('message');
    });

    it('accepts a message of exactly the message limit', () => {
      // alice (5) + bob (3) + text/plain (10) + content (100) + subject (82) = 200 bytes.
      const checked = validateSendInput(
        direct({ content: 'x'.repeat(100), subject: 's'.repeat(82) }),
        limits,
      );

      expect(messageBytes(checked.message)).toBe(200);
    });
  });

  describe('ttlSeconds', () => {
    it.each([0, -1, 1.5, MAX_TTL_SECONDS + 1, Number.NaN])('rejects %j', (ttlSeconds) => {
      const error = expectBadField(direct({ ttlSeconds }), 'ttlSeconds');

      expect(error.details.limit).toBe(MAX_TTL_SECONDS);
    });

    it.each([1, 3600, MAX_TTL_SECONDS])('accepts %j', (ttlSeconds) => {
      expect(validateSendInput(direct({ ttlSeconds }), limits).ttlSeconds).toBe(ttlSeconds);
    });

    it.each([undefined, null])('means no expiry when %j', (ttlSeconds) => {
      expect(validateSendInput(direct({ ttlSeconds }), limits).ttlSeconds).toBeNull();
    });
  });

  describe('metadata', () => {
    it('keeps a JSON object, nested values included', () => {
      const metadata = { a: 1, nested: { list: [1, 'two'], flag: true } };

      expect(validateSendInput(direct({ metadata }), limits).message.metadata).toEqual(metadata);
    });

    it.each([[['a', 'b']], ['text'], [42], [true]])('rejects %j', (metadata) => {
      expectBadField(direct({ metadata }), 'metadata');
    });

    it("refuses the service's own late mark, whatever its value", () => {
      for (const late of [true, false, null]) {
        expectBadField(direct({ metadata: { note: 1, late } }), 'metadata.late');
      }
    });

    it.each([undefined, null])('stores %j as null', (metadata) => {
      expect(validateSendInput(direct({ metadata }), limits).message.metadata).toBeNull();
    });

    it('accepts metadata nested as deep as the limit, objects and arrays alike', () => {
      for (const metadata of [nested(4), { list: [[[]]] }, { a: 1, b: { c: [1, { d: 'x' }] } }]) {
        expect(validateSendInput(direct({ metadata }), limits).message.metadata).toEqual(metadata);
      }
    });

    it('refuses metadata one level deeper than the limit, naming the field and the limit', () => {
      for (const metadata of [nested(5), { list: [[[[]]]] }, { a: 1, b: { c: [1, { d: [] }] } }]) {
        const error = expectBadField(direct({ metadata }), 'metadata');
        expect(error.message).toBe('metadata: nests deeper than the limit of 4 levels');
        expect(error.details.limit).toBe(4);
      }
    });

    it('refuses metadata 100,000 levels deep with the same error, not a stack overflow', () => {
      const error = expectBadField(direct({ metadata: nested(100_000) }), 'metadata');
      expect(error.details.limit).toBe(4);
    });

    it('takes its depth limit from the limits given', () => {
      const metadata = nested(33);

      expect(rejection(direct({ metadata }), { ...limits, maxJsonDepth: 32 }).details).toEqual({
        field: 'metadata',
        limit: 32,
      });
      expect(
        validateSendInput(direct({ metadata }), {
          ...limits,
          maxMessageBytes: 10_000,
          maxJsonDepth: 33,
        }).message.metadata,
      ).toEqual(metadata);
    });
  });

  describe('contentType', () => {
    it.each(['application/json', 'text/markdown; charset=utf-8', 'application/vnd.api+json'])(
      'accepts %j',
      (contentType) => {
        expect(validateSendInput(direct({ contentType }), limits).message.contentType).toBe(
          contentType,
        );
      },
    );

    it.each(['', 'text', 'text/', '/plain', 'text plain', 'text/plain/extra', 'tëxt/plain'])(
      'rejects %j',
      (contentType) => {
        expectBadField(direct({ contentType }), 'contentType');
      },
    );

    it('rejects a media type longer than 255 characters', () => {
      expectBadField(direct({ contentType: `text/plain; p=${'v'.repeat(250)}` }), 'contentType');
    });
  });

  describe('replyTo', () => {
    it('accepts a mailbox name', () => {
      expect(validateSendInput(direct({ replyTo: 'carol' }), limits).message.replyTo).toBe('carol');
    });

    it.each(['carol smith', 'agents.*', '', '-carol'])('rejects %j', (replyTo) => {
      expectBadField(direct({ replyTo }), 'replyTo');
    });
  });

  describe('short text fields', () => {
    it.each(['correlationId', 'threadId', 'idempotencyKey'] as const)(
      'rejects %s with control characters',
      (field) => {
        expectBadField(direct({ [field]: 'abc\u0000def' }), field);
        expectBadField(direct({ [field]: 'line\nbreak' }), field);
        expectBadField(direct({ [field]: 'del\u007f' }), field);
      },
    );

    it.each(['correlationId', 'threadId', 'idempotencyKey'] as const)(
      'rejects %s when empty or longer than 256 characters',
      (field) => {
        expect(expectBadField(direct({ [field]: '' }), field).details.limit).toBe(256);
        expectBadField(direct({ [field]: 'k'.repeat(257) }), field);
      },
    );

    it('keeps the correlation id, thread id and idempotency key', () => {
      const checked = validateSendInput(
        direct({ correlationId: 'req-1', threadId: 'thread-9', idempotencyKey: 'k'.repeat(256) }),
        limits,
      );

      expect(checked.message.correlationId).toBe('req-1');
      expect(checked.message.threadId).toBe('thread-9');
      expect(checked.idempotencyKey).toBe('k'.repeat(256));
    });

    it('rejects a subject longer than 1024 characters', () => {
      const wide: MessageLimits = { ...limits, maxMessageBytes: 10_000 };

      expect(() => validateSendInput(direct({ subject: 's'.repeat(1025) }), wide)).toThrow(
        /^subject: must be 1 to 1024 characters$/,
      );
      expect(validateSendInput(direct({ subject: 's'.repeat(1024) }), wide).message.subject).toBe(
        's'.repeat(1024),
      );
    });

    it('counts characters by code point: an emoji is one', () => {
      const wide: MessageLimits = { ...limits, maxMessageBytes: 10_000 };
      const emoji = '😀'.repeat(1024);
      expect(validateSendInput(direct({ subject: emoji }), wide).message.subject).toBe(emoji);
      expect(() => validateSendInput(direct({ subject: `${emoji}😀` }), wide)).toThrow(
        /^subject: must be 1 to 1024 characters$/,
      );
      const key = '🔑'.repeat(256);
      expect(validateSendInput(direct({ idempotencyKey: key }), wide).idempotencyKey).toBe(key);
    });
  });

  it('rejects an unknown priority', () => {
    expectBadField(direct({ priority: 'CRITICAL' as MessagePriority }), 'priority');
  });

  it('fills in the defaults', () => {
    const checked = validateSendInput(direct(), limits);

    expect(checked).toEqual({
      message: {
        sender: 'alice',
        mode: AddressingMode.DIRECT,
        target: 'bob',
        content: 'hello',
        contentType: 'text/plain',
        subject: null,
        metadata: null,
        priority: MessagePriority.NORMAL,
        requireConfirmation: false,
        correlationId: null,
        replyTo: null,
        threadId: null,
        inReplyTo: null,
      },
      ttlSeconds: null,
      replyWithinSeconds: null,
      idempotencyKey: null,
    });
  });

  it('keeps the values given instead of the defaults', () => {
    const checked = validateSendInput(
      direct({
        contentType: 'application/json',
        priority: MessagePriority.URGENT,
        requireConfirmation: true,
      }),
      limits,
    );

    expect(checked.message.contentType).toBe('application/json');
    expect(checked.message.priority).toBe(MessagePriority.URGENT);
    expect(checked.message.requireConfirmation).toBe(true);
  });
});

describe(utf8Bytes.name, () => {
  it.each([
    ['', 0],
    ['abc', 3],
    ['é', 2],
    ['€', 3],
    ['😀', 4],
    ['aé€😀', 10],
  ])('counts %j as %j bytes', (text, bytes) => {
    expect(utf8Bytes(text)).toBe(bytes);
  });
});

describe(messageBytes.name, () => {
  const base: CheckedSend['message'] = {
    sender: 'alice',
    mode: AddressingMode.DIRECT,
    target: 'bob',
    content: 'hé',
    contentType: 'text/plain',
    subject: null,
    metadata: null,
    priority: MessagePriority.NORMAL,
    requireConfirmation: false,
    correlationId: null,
    replyTo: null,
    threadId: null,
    inReplyTo: null,
  };

  it('adds the UTF-8 bytes of every text field present', () => {
    // alice 5 + bob 3 + hé 3 + text/plain 10
    expect(messageBytes(base)).toBe(21);
    expect(
      messageBytes({ ...base, subject: 'sü', correlationId: 'c', replyTo: 'rr', threadId: 't' }),
    ).toBe(21 + 3 + 1 + 2 + 1);
  });

  it('adds the metadata as JSON', () => {
    const metadata = { k: 'é' };

    expect(messageBytes({ ...base, metadata })).toBe(21 + utf8Bytes(JSON.stringify(metadata)));
  });

  it('counts a BROADCAST without target', () => {
    expect(messageBytes({ ...base, mode: AddressingMode.BROADCAST, target: null })).toBe(18);
  });
});

describe(enrich.name, () => {
  const at = Date.UTC(2030, 0, 2, 3, 4, 5, 678);

  it("sets createdAt to the id's own time and no expiry without a ttl", () => {
    const id = monotonicFactory()(at);
    const checked = validateSendInput(direct(), limits);

    const stored = enrich(checked, id);

    expect(stored).toEqual({
      ...checked.message,
      id,
      createdAt: at,
      expiresAt: null,
      threadId: id,
      replyBy: null,
      hop: 0,
    });
  });

  it('sets expiresAt to createdAt plus the ttl in milliseconds', () => {
    const id = monotonicFactory()(at);

    const stored = enrich(validateSendInput(direct({ ttlSeconds: 90 }), limits), id);

    expect(stored.createdAt).toBe(at);
    expect(stored.expiresAt).toBe(at + 90_000);
  });

  it('gives a fresh message id the current time', () => {
    const before = Date.now();
    const id = newMessageId();
    const after = Date.now();

    const stored = enrich(validateSendInput(direct({ ttlSeconds: 1 }), limits), id);

    expect(stored.id).toBe(id);
    expect(stored.createdAt).toBe(decodeTime(id));
    expect(stored.createdAt).toBeGreaterThanOrEqual(before);
    expect(stored.createdAt).toBeLessThanOrEqual(after);
    expect(stored.expiresAt).toBe(stored.createdAt + 1000);
  });
});

describe(scopeError.name, () => {
  it('prefixes the field and the message of a validation error', () => {
    const error = scopeError(rejection(direct({ target: 'bob smith' })), 'input');

    expect(error).toBeInstanceOf(AppError);
    const scoped = error as AppError;
    expect(scoped.code).toBe('BAD_USER_INPUT');
    expect(scoped.details.field).toBe('input.target');
    expect(scoped.message.startsWith('input.target: ')).toBe(true);
    expect(scoped.details.limit).toBe(128);
  });

  it('keeps the code and limit of a size error', () => {
    const error = scopeError(rejection(direct({ content: 'x'.repeat(101) })), 'inputs[3]');

    expect(error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { field: 'inputs[3].content', limit: 100 },
    });
  });

  it('names the metadata of the input that was too deep, with the limit', () => {
    const error = scopeError(rejection(direct({ metadata: nested(5) })), 'inputs[3]');

    expect(error).toMatchObject({
      code: 'BAD_USER_INPUT',
      message: 'inputs[3].metadata: nests deeper than the limit of 4 levels',
      details: { field: 'inputs[3].metadata', limit: 4 },
    });
  });

  it('returns anything that is not an AppError unchanged', () => {
    const error = new TypeError('boom');

    expect(scopeError(error, 'input')).toBe(error);
  });
});

describe('conversation fields', () => {
  const limits = { maxMessageBytes: 1 << 20, maxPayloadBytes: 1 << 20, maxJsonDepth: 32 };
  const base = { sender: 'alice', mode: AddressingMode.DIRECT, content: 'x' };

  it('lets a DIRECT reply leave out its target, but not a fresh message', () => {
    const reply = validateSendInput({ ...base, inReplyTo: '01JGZ5K3Y6Q2V8W9X0A1B2C3D4' }, limits);
    expect(reply.message).toMatchObject({ target: null, inReplyTo: '01JGZ5K3Y6Q2V8W9X0A1B2C3D4' });
    expect(() => validateSendInput(base, limits)).toThrow(/^target: is required for DIRECT/);
  });

  it('refuses a request that would not outlive its deadline by a minute, and takes one that does', () => {
    for (const [ttlSeconds, replyWithinSeconds, most] of [
      [30, 300, 0],
      [90, 90, 30],
      [90, 31, 30],
    ]) {
      const refusal = rejection({ ...base, target: 'bob', ttlSeconds, replyWithinSeconds });
      expect(refusal.details).toMatchObject({ field: 'replyWithinSeconds', limit: most });
      expect(refusal.message).toBe(
        `replyWithinSeconds: ${replyWithinSeconds} s is too close to the message's ttlSeconds (${ttlSeconds}): a request must outlive its deadline by 60 s, for its timeout notice; at most ${most} here`,
      );
    }
    for (const replyWithinSeconds of [30, 29]) {
      expect(
        validateSendInput({ ...base, target: 'bob', ttlSeconds: 90, replyWithinSeconds }, limits)
          .replyWithinSeconds,
      ).toBe(replyWithinSeconds);
    }
  });

  it.each([0, 86_401, 1.5])('refuses replyWithinSeconds %p, naming the limit', (seconds) => {
    expect(() =>
      validateSendInput({ ...base, target: 'bob', replyWithinSeconds: seconds }, limits),
    ).toThrow('replyWithinSeconds: must be a whole number of seconds from 1 to 86400');
  });

  it('refuses an inReplyTo that is not a message id, and a missing sender', () => {
    expect(() => validateSendInput({ ...base, inReplyTo: 'nope' }, limits)).toThrow(/^inReplyTo: /);
    expect(() => validateSendInput({ ...base, sender: null, target: 'bob' }, limits)).toThrow(
      'sender: is required',
    );
  });

  it('gives a request its deadline, a reply its thread and hop, and a fresh message its own thread', () => {
    const id = '01JGZ5K3Y6Q2V8W9X0A1B2C3D4';
    const request = enrich(
      validateSendInput({ ...base, target: 'bob', replyWithinSeconds: 30 }, limits),
      id,
    );
    expect(request).toMatchObject({ threadId: id, hop: 0, inReplyTo: null });
    expect(request.replyBy).toBe(request.createdAt + 30_000);
    const reply = enrich(
      validateSendInput({ ...base, inReplyTo: id }, limits),
      '01JGZ5K3Y7Q2V8W9X0A1B2C3D5',
      { threadId: 'plan-1', hop: 3 },
    );
    expect(reply).toMatchObject({ threadId: 'plan-1', hop: 3, inReplyTo: id, replyBy: null });
  });
});
