/* eslint-disable no-control-regex -- control characters are what this fuzzer feeds in */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { graphql } from '../utils/graphql-client';
import { SEND } from '../utils/documents';
import { RedisServer } from '../utils/redis-server';
import { DOCUMENTED_KEY, keysUnder, registerMailboxes } from '../utils/service';
import { startTestApp, type TestApp } from '../utils/test-app';

const RUNS = 10_000;
const KNOWN_CODES = new Set([
  'BAD_USER_INPUT',
  'NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'FORBIDDEN',
  'UNAUTHENTICATED',
]);

/** Text that is often hostile: Redis glob and hash-tag characters, separators, controls, unicode. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.stringMatching(/^[A-Za-z0-9*#?[\]{}:.\- \u0000\n]{0,30}$/),
  fc.constantFrom(
    'alice',
    'bob',
    'agents.planner.status',
    'agents.*',
    '#',
    '{x}',
    'a:b',
    '',
    '*',
    'x'.repeat(200),
  ),
);
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined));

/** A valid send, so that mutations of one or two fields probe the edges of acceptance. */
const valid = fc.record({
  sender: fc.constantFrom('alice', 'bob'),
  mode: fc.constantFrom('DIRECT', 'BROADCAST', 'TOPIC'),
  content: fc.string({ maxLength: 200 }),
  contentType: fc.constantFrom('text/plain', 'application/json', 'text/markdown; charset=utf-8'),
  subject: fc
    .string({ minLength: 1, maxLength: 50 })
    .filter((value) => !/[\u0000-\u001f\u007f]/.test(value)),
  metadata: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), {
    maxKeys: 4,
  }),
  priority: fc.constantFrom('LOW', 'NORMAL', 'HIGH', 'URGENT'),
  ttlSeconds: fc.integer({ min: 1, max: 86_400 }),
  requireConfirmation: fc.boolean(),
  correlationId: fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/),
  idempotencyKey: fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/),
});

const corruptions: Record<string, fc.Arbitrary<unknown>> = {
  sender: nasty,
  mode: nasty,
  target: fc.oneof(nasty, fc.constant(null)),
  content: fc.oneof(fc.integer(), fc.constant(null), fc.string({ unit: 'binary', maxLength: 50 })),
  contentType: nasty,
  subject: nasty,
  metadata: anyJson,
  priority: nasty,
  ttlSeconds: fc.oneof(fc.integer({ min: -10, max: 100_000_000 }), fc.double(), fc.constant(null)),
  requireConfirmation: nasty,
  correlationId: nasty,
  replyTo: nasty,
  threadId: nasty,
  idempotencyKey: nasty,
};

/** A valid send with a target that fits its mode, then zero, one or more fields corrupted. */
const input = fc
  .tuple(valid, fc.constantFrom('alice', 'bob'), fc.constantFrom('agents.planner.status', 'a.b'))
  .map(([send, mailbox, topic]) => ({
    ...send,
    ...(send.mode === 'DIRECT'
      ? { target: mailbox }
      : send.mode === 'TOPIC'
        ? { target: topic }
        : {}),
  }))
  .chain((send) =>
    fc.subarray(Object.keys(corruptions), { maxLength: 3 }).chain((fields) =>
      fc.tuple(...fields.map((field) => corruptions[field])).map((values) => {
        const corrupted: Record<string, unknown> = { ...send };
        fields.forEach((field, index) => {
          corrupted[field] = values[index];
        });
        return corrupted;
      }),
    ),
  );

/** Requests in flight at once: 10,000 inputs take seconds, not minutes. */
const PARALLEL = 20;

describe('fuzzing sendMessage', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let service: TestApp;

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    redis = redisServer.client();
    service = await startTestApp(redisServer.url, { RATE_LIMIT_PER_MINUTE: '0' });
    await registerMailboxes(service.baseUrl, 'alice', 'bob');
  });

  afterAll(async () => {
    await service.close();
    await redis.quit();
    await redisServer.destroy();
  });

  it(`survives ${RUNS} generated inputs: clear errors, no internal error, no key outside the layout`, async () => {
    const seen = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(input, { minLength: PARALLEL, maxLength: PARALLEL }),
        async (batch) => {
          const responses = await Promise.all(
            batch.map((generated) => graphql(service.baseUrl, SEND, { input: generated })),
          );
          for (const response of responses) {
            expect(response.status).toBeLessThan(500);
            if (!response.errors) {
              seen.set('ok', (seen.get('ok') ?? 0) + 1);
              continue;
            }
            for (const error of response.errors) {
              const code = String(error.extensions?.code);
              seen.set(code, (seen.get(code) ?? 0) + 1);
              expect(KNOWN_CODES.has(code)).toBe(true);
              expect(error.message.length).toBeGreaterThan(0);
            }
          }
        },
      ),
      { numRuns: RUNS / PARALLEL },
    );
    // The generator reached both sides: accepted sends and refusals.
    expect(seen.get('ok') ?? 0).toBeGreaterThan(1_000);
    expect(seen.get('BAD_USER_INPUT') ?? 0).toBeGreaterThan(1_000);
    const total = [...seen.values()].reduce((sum, count) => sum + count, 0);
    expect(total).toBeGreaterThanOrEqual(RUNS);

    for (const key of await keysUnder(redis, service.prefix)) {
      expect(key.slice(service.prefix.length)).toMatch(DOCUMENTED_KEY);
    }
    expect((await fetch(`${service.baseUrl}/health/ready`)).status).toBe(200);
  }, 300_000);
});
