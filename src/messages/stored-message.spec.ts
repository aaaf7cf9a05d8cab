import { RENDERABLE_JSON_DEPTH } from '../common/json-depth';
import { UnreadableJson } from '../common/stored-json';
import { AddressingMode, MessagePriority } from './message.model';
import {
  fromHash,
  fromPushPayload,
  isExpired,
  toHashFields,
  toMessageModel,
  toPushPayload,
  type StoredMessage,
} from './stored-message';

const createdAt = Date.UTC(2030, 0, 2, 3, 4, 5, 678);

const full: StoredMessage = {
  id: '01JGZ5K3Y6Q2V8W9X0A1B2C3D4',
  sender: 'alice',
  mode: AddressingMode.DIRECT,
  target: 'bob',
  content: 'héllo\nworld 😀',
  contentType: 'text/markdown; charset=utf-8',
  subject: 'greetings',
  metadata: { trace: { spans: [1, 2, 3], ok: true }, note: null, label: 'x' },
  priority: MessagePriority.URGENT,
  createdAt,
  expiresAt: createdAt + 90_000,
  requireConfirmation: true,
  correlationId: 'req-1',
  replyTo: 'alice.replies',
  threadId: 'thread-9',
  inReplyTo: '01JGZ5K3Y6Q2V8W9X0A1B2C3D0',
  replyBy: 1767225600000,
  hop: 2,
  signature: 'v1.0a1b2c3d.RGlmZmVyZW50IGZyb20gYW55IHJlYWwgTUFDLCBieSBkZXNpZ24',
};

const minimal: StoredMessage = {
  id: '01JGZ5K3Y6Q2V8W9X0A1B2C3D5',
  sender: 'carol',
  mode: AddressingMode.BROADCAST,
  target: null,
  content: '',
  contentType: 'text/plain',
  subject: null,
  metadata: null,
  priority: MessagePriority.NORMAL,
  createdAt,
  expiresAt: null,
  requireConfirmation: false,
  correlationId: null,
  replyTo: null,
  threadId: '01JGZ5K3Y6Q2V8W9X0A1B2C3D5',
  inReplyTo: null,
  replyBy: null,
  hop: 0,
};

/** What HGETALL returns after HSET key ...fields. */
function asHash(fields: string[]): Record<string, string> {
  expect(fields.length % 2).toBe(0);
  const hash: Record<string, string> = {};
  for (let index = 0; index < fields.length; index += 2) {
    hash[fields[index]] = fields[index + 1];
  }
  return hash;
}

describe(toHashFields.name, () => {
  it('writes every field as a string, each name once', () => {
    const fields = toHashFields(full);
    const names = fields.filter((_, index) => index % 2 === 0);

    expect(fields.every((value) => typeof value === 'string')).toBe(true);
    expect(new Set(names).size).toBe(names.length);
    expect(asHash(fields)).toMatchObject({
      createdAt: String(createdAt),
      expiresAt: String(createdAt + 90_000),
      requireConfirmation: '1',
    });
  });

  it('stores the signature under `signature`', () => {
    expect(asHash(toHashFields(full)).signature).toBe(full.signature);
  });

  it('leaves the signature out when there is none (not stamped yet, or stored before signing)', () => {
    expect(asHash(toHashFields({ ...full, signature: undefined }))).not.toHaveProperty('signature');
  });

  it('leaves out the absent fields', () => {
    const hash = asHash(toHashFields(minimal));

    expect(Object.keys(hash).sort()).toEqual(
      [
        'id',
        'sender',
        'mode',
        'content',
        'contentType',
        'priority',
        'createdAt',
        'requireConfirmation',
      ].sort(),
    );
  });
});

describe(fromHash.name, () => {
  it.each([
    ['a full message', full],
    ['a minimal message', minimal],
  ])('gives back %s written by toHashFields', (_case, message) => {
    expect(fromHash(asHash(toHashFields(message)))).toEqual(message);
  });

  it('keeps nested metadata as an object and requireConfirmation as a boolean', () => {
    const read = fromHash(asHash(toHashFields(full)));

    expect(read?.metadata).toEqual({
      trace: { spans: [1, 2, 3], ok: true },
      note: null,
      label: 'x',
    });
    expect(read?.requireConfirmation).toBe(true);
    expect(read?.createdAt).toBe(createdAt);
  });

  it('keeps empty metadata and an unconfirmed message as they were', () => {
    const read = fromHash(
      asHash(toHashFields({ ...full, metadata: {}, requireConfirmation: false })),
    );

    expect(read?.metadata).toEqual({});
    expect(read?.requireConfirmation).toBe(false);
  });

  it('returns null for an empty hash, as HGETALL gives for a missing key', () => {
    expect(fromHash({})).toBeNull();
  });

  it.each(['id', 'sender', 'content'])('returns null when %s is missing', (field) => {
    const hash = asHash(toHashFields(full));
    delete hash[field];

    expect(fromHash(hash)).toBeNull();
  });

  it.each([
    ['not JSON', '{not json', 'is not valid JSON'],
    [
      'nested deeper than a response can carry',
      `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
      `nests deeper than ${RENDERABLE_JSON_DEPTH} levels`,
    ],
  ])('keeps a message whose metadata is %s, its metadata unreadable', (_case, text, problem) => {
    const hash = { ...asHash(toHashFields(minimal)), metadata: text };

    const read = fromHash(hash);

    expect(read).toEqual({
      ...minimal,
      metadata: expect.objectContaining({ text, problem }) as unknown,
    });
    expect(read?.metadata).toBeInstanceOf(UnreadableJson);
    // Written again (a retried push), it carries the stored text as it was.
    expect(asHash(toHashFields(read as StoredMessage))).toEqual(hash);
  });

  it(`parses metadata ${RENDERABLE_JSON_DEPTH} levels deep`, () => {
    const text = `${'{"a":'.repeat(RENDERABLE_JSON_DEPTH - 1)}{}${'}'.repeat(RENDERABLE_JSON_DEPTH - 1)}`;

    const read = fromHash({ ...asHash(toHashFields(minimal)), metadata: text });

    expect(read?.metadata).not.toBeInstanceOf(UnreadableJson);
    expect(JSON.stringify(read?.metadata)).toBe(text);
  });
});

describe(isExpired.name, () => {
  const now = 1_000_000;

  it('never expires a message without expiresAt', () => {
    expect(isExpired({ expiresAt: null }, now)).toBe(false);
    expect(isExpired({ expiresAt: null }, Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('is not expired a millisecond before expiresAt', () => {
    expect(isExpired({ expiresAt: now + 1 }, now)).toBe(false);
  });

  it('is expired at expiresAt and after', () => {
    expect(isExpired({ expiresAt: now }, now)).toBe(true);
    expect(isExpired({ expiresAt: now - 1 }, now)).toBe(true);
  });
});

describe(toMessageModel.name, () => {
  it('turns the times into Date instances and keeps the rest', () => {
    const model = toMessageModel(full);

    expect(model.createdAt).toBeInstanceOf(Date);
    expect(model.createdAt.getTime()).toBe(createdAt);
    expect(model.expiresAt).toBeInstanceOf(Date);
    expect(model.expiresAt?.getTime()).toBe(createdAt + 90_000);
    expect(model).toMatchObject({
      id: full.id,
      sender: 'alice',
      target: 'bob',
      metadata: full.metadata,
      requireConfirmation: true,
    });
  });

  it('keeps a missing expiry as null', () => {
    const model = toMessageModel(minimal);

    expect(model.createdAt).toEqual(new Date(createdAt));
    expect(model.expiresAt).toBeNull();
  });

  it('shows the signature, and an empty one for a message stored before signing', () => {
    expect(toMessageModel(full).signature).toBe(full.signature);
    expect(toMessageModel(minimal).signature).toBe('');
  });

  it('carries a message read without its body as such, so that its body fields refuse', () => {
    expect(toMessageModel({ ...full, content: '', contentCut: true }).contentCut).toBe(true);
    expect(toMessageModel(full).contentCut).toBeUndefined();
  });
});

describe('push payloads', () => {
  const parsed = (text: string): unknown => JSON.parse(text) as unknown;

  it('carry a message whole, as its hash entries', () => {
    for (const message of [full, minimal]) {
      const payload = parsed(toPushPayload(message));
      expect(payload).toEqual(toHashFields(message));
      expect(fromPushPayload(payload)).toEqual(message);
    }
    expect(fromPushPayload(parsed(toPushPayload(full)))?.signature).toBe(full.signature);
  });

  it('carry the attempt and the redrive time of a tracked delivery', () => {
    expect(fromPushPayload(parsed(toPushPayload(full, 1)))).toEqual({
      ...full,
      deliveryAttempt: 1,
    });
    expect(fromPushPayload(parsed(toPushPayload(full, 3, createdAt + 5)))).toEqual({
      ...full,
      deliveryAttempt: 3,
      redrivenAt: createdAt + 5,
    });
  });

  it('give every reader of one parsed payload the same message', () => {
    const payload = parsed(toPushPayload(full, 2));
    const first = fromPushPayload(payload);
    expect(first).not.toBeNull();
    expect(fromPushPayload(payload)).toBe(first);
    expect(fromPushPayload(parsed(toPushPayload(full, 2)))).not.toBe(first);
  });

  it('refuse anything but the entries form, the message object included', () => {
    expect(fromPushPayload(parsed(JSON.stringify({ ...full, deliveryAttempt: 2 })))).toBeNull();
    expect(fromPushPayload('text')).toBeNull();
    expect(fromPushPayload(null)).toBeNull();
  });

  it('carry a message whose stored metadata is unreadable, and the push it makes again', () => {
    const entries = ['id', full.id, 'sender', 'alice', 'content', 'x', 'metadata', '{not json'];

    const read = fromPushPayload(entries);

    expect(read).toMatchObject({ id: full.id, content: 'x' });
    expect(read?.metadata).toEqual(new UnreadableJson('{not json', 'is not valid JSON'));
    expect(parsed(toPushPayload(read as StoredMessage))).toEqual(
      expect.arrayContaining(['metadata', '{not json']),
    );
  });

  it('read anything else as nothing', () => {
    for (const junk of [
      null,
      'text',
      42,
      { id: full.id, sender: 'alice', content: 'x' },
      { id: full.id, sender: 'alice', content: 'x', createdAt: '1' },
      [],
      ['id', full.id, 'sender'],
      ['id', full.id, 'content', 'x'],
      ['id', 1, 'sender', 'alice', 'content', 'x'],
    ])
      expect(fromPushPayload(junk)).toBeNull();
  });
});
