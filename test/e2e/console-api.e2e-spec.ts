import type { Client } from 'graphql-ws';
import { randomBytes } from 'node:crypto';
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { directInput } from '../factories/messages';
import {
  connectWs,
  eventually,
  graphql,
  graphqlOk,
  LiveSubscription,
  type GraphqlResponse,
} from '../utils/graphql-client';
import { REGISTER, SEND, type RouteView } from '../utils/documents';
import { startRedisBackend, testTopology, type RedisBackend } from '../utils/redis-backend';
import { registerMailboxes, send, subscribeMailbox, waitForListeners } from '../utils/service';
import { startTestApp, type TestApp } from '../utils/test-app';
import { DeliveryService } from '../../src/delivery/delivery.service';
import { RedisTopology } from '../../src/redis/redis-topology.service';

// The operator console's API (mailboxPage, the mailbox counts, bulk dead-letter handling,
// mailboxChanges, routerStatistics.connections) and its static pages, over real HTTP and
// WebSockets against a real Redis.

const ADMIN = 'admin-token-for-console-tests-0123456789';

/** Small retry settings: an unconfirmed delivery is a dead letter after two pushes. */
const FAST_RETRIES: Record<string, string> = {
  ROUTER_MAX_RETRY_ATTEMPTS: '1',
  ROUTER_BASE_RETRY_DELAY: '0.1',
  ROUTER_RETRY_CHECK_INTERVAL: '0.05',
  ROUTER_RETRY_JITTER: 'false',
};

const PAGE = `
  query Page(
    $filter: String
    $state: MailboxState
    $orderBy: MailboxOrder
    $descending: Boolean
    $offset: Int
    $first: Int
  ) {
    mailboxPage(
      filter: $filter
      state: $state
      orderBy: $orderBy
      descending: $descending
      offset: $offset
      first: $first
    ) {
      total
      offset
      mailboxes {
        name active paused online createdAt lastSeenAt unreadCount pendingCount deadLetterCount
      }
    }
  }`;
const COUNTS = `
  query Counts($name: String!) {
    mailbox(name: $name) { name online unreadCount pendingCount deadLetterCount }
  }`;
const DEAD_LETTERS = `
  query Dead($mailbox: String) { deadLetters(mailbox: $mailbox) { mailbox message { id } } }`;
const STATUS = `
  query Status($id: ID!) { deliveryStatus(messageId: $id) { mailbox status waitingForSubscriber } }`;
const REDRIVE_MANY = `
  mutation RedriveMany($mailbox: String, $ids: [ID!]) {
    redriveDeadLetters(mailbox: $mailbox, messageIds: $ids)
  }`;
const PURGE_MANY = `
  mutation PurgeMany($mailbox: String, $ids: [ID!]) {
    purgeDeadLetters(mailbox: $mailbox, messageIds: $ids)
  }`;
const CHANGES = 'subscription { mailboxChanges { name kind at } }';
const CONNECTIONS = '{ routerStatistics { connections } }';

interface PageRow {
  name: string;
  active: boolean;
  paused: boolean;
  online: boolean;
  createdAt: string;
  lastSeenAt: string | null;
  unreadCount: number;
  pendingCount: number;
  deadLetterCount: number;
}

interface PageView {
  total: number;
  offset: number;
  mailboxes: PageRow[];
}

interface PageArgs {
  filter?: string;
  state?: 'ACTIVE' | 'INACTIVE' | 'ONLINE' | 'PAUSED' | 'DEAD_LETTERED';
  orderBy?: 'NAME' | 'CREATED' | 'LAST_SEEN' | 'UNREAD' | 'PENDING' | 'DEAD_LETTERS';
  descending?: boolean;
  offset?: number;
  first?: number;
}

interface Counts {
  name: string;
  online: boolean;
  unreadCount: number;
  pendingCount: number;
  deadLetterCount: number;
}

interface Change {
  name: string;
  kind: string;
  at: string;
}

interface Status {
  mailbox: string;
  status: string;
  waitingForSubscriber: boolean;
}

/** A short random tag: mailbox names of one test hold it, so filters see that test's only. */
function tag(): string {
  return randomBytes(3).toString('hex');
}

function names(page: PageView): string[] {
  return page.mailboxes.map((mailbox) => mailbox.name);
}

function ulid(): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let id = '01';
  for (const byte of randomBytes(24)) id += alphabet[byte % 32];
  return id;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw GET with node's http module: no automatic accept-encoding, no decompression. */
function rawGet(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = httpGet(url, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks),
        }),
      );
    });
    request.on('error', reject);
  });
}

/** The first error's code and extensions of a refused operation. */
function refusal(response: GraphqlResponse<unknown>): Record<string, unknown> | undefined {
  return response.errors?.[0]?.extensions;
}

describe(`console API: mailboxPage, counts, bulk dead letters, mailboxChanges, connections (${testTopology()})`, () => {
  let backend: RedisBackend;
  let service: TestApp;
  /** A second instance on the same Redis and key prefix. */
  let other: TestApp;
  let ws: Client;

  const page = async (args: PageArgs): Promise<PageView> =>
    (await graphqlOk<{ mailboxPage: PageView }>(service.baseUrl, PAGE, { ...args })).mailboxPage;

  const counts = async (name: string): Promise<Counts> =>
    (await graphqlOk<{ mailbox: Counts }>(service.baseUrl, COUNTS, { name })).mailbox;

  const status = async (id: string): Promise<Status[]> =>
    (await graphqlOk<{ deliveryStatus: Status[] }>(service.baseUrl, STATUS, { id })).deliveryStatus;

  const deadLetterIds = async (mailbox: string): Promise<string[]> =>
    (
      await graphqlOk<{ deadLetters: Array<{ message: { id: string } }> }>(
        service.baseUrl,
        DEAD_LETTERS,
        { mailbox },
      )
    ).deadLetters
      .map((letter) => letter.message.id)
      .sort();

  /**
   * Makes `count` dead letters in `mailbox` for real: a live subscriber that never confirms,
   * tracked sends, retries spent; then the subscriber goes away. Returns the message ids.
   */
  const makeDeadLetters = async (
    mailbox: string,
    sender: string,
    count: number,
  ): Promise<string[]> => {
    const deaf = await subscribeMailbox(service, ws, mailbox);
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) {
      const sent = await send(
        service.baseUrl,
        directInput(sender, mailbox, { requireConfirmation: true, content: `dead ${index}` }),
      );
      expect(sent.status).toBe('SUCCESS');
      ids.push(sent.messageId);
    }
    await eventually(async () => (await counts(mailbox)).deadLetterCount === count, 10_000);
    deaf.unsubscribe();
    await eventually(async () => !(await counts(mailbox)).online, 5_000);
    return ids;
  };

  beforeAll(async () => {
    backend = await startRedisBackend();
    service = await startTestApp(backend, FAST_RETRIES);
    other = await startTestApp(backend, { ...FAST_RETRIES, REDIS_KEY_PREFIX: service.prefix });
    ws = await connectWs(service.wsUrl);
  });

  afterAll(async () => {
    await ws.dispose();
    await other.close();
    await service.close();
    await backend.destroy();
  });

  it('pages through 7 mailboxes with offset and first, counting every match in total', async () => {
    const t = tag();
    const all = [1, 2, 3, 4, 5, 6, 7].map((n) => `pg-${t}-${n}`);
    // Registered out of order: the page sorts by name, not by registration.
    await registerMailboxes(service.baseUrl, ...[...all].reverse());

    const first = await page({ filter: `pg-${t}`, first: 3 });
    expect(first).toMatchObject({ total: 7, offset: 0 });
    expect(names(first)).toEqual(all.slice(0, 3));
    const second = await page({ filter: `pg-${t}`, offset: 3, first: 3 });
    expect(second).toMatchObject({ total: 7, offset: 3 });
    expect(names(second)).toEqual(all.slice(3, 6));
    const last = await page({ filter: `pg-${t}`, offset: 6, first: 3 });
    expect(last).toMatchObject({ total: 7, offset: 6 });
    expect(names(last)).toEqual([all[6]]);
    const beyond = await page({ filter: `pg-${t}`, offset: 10, first: 3 });
    expect(beyond).toEqual({ total: 7, offset: 10, mailboxes: [] });
    // Defaults: NAME ascending from 0, 50 at most.
    expect(names(await page({ filter: `pg-${t}` }))).toEqual(all);
    const newest = await page({ filter: `pg-${t}`, descending: true, first: 3 });
    expect(names(newest)).toEqual([all[6], all[5], all[4]]);
    expect(newest.total).toBe(7);
    expect(newest.mailboxes[0]).toMatchObject({
      active: true,
      paused: false,
      online: false,
      unreadCount: 0,
      pendingCount: 0,
      deadLetterCount: 0,
    });
  });

  it('filters by a part of the name in any case', async () => {
    const t = tag();
    const [one, two, three] = [`Alpha-${t}-one`, `xalpha-${t}-two`, `beta-${t}-three`];
    await registerMailboxes(service.baseUrl, three, two, one);

    const alphas = await page({ filter: `ALPHA-${t.toUpperCase()}` });
    expect(alphas.total).toBe(2);
    expect(names(alphas)).toEqual([one, two]);
    const all = await page({ filter: `-${t}-` });
    expect(names(all)).toEqual([one, three, two]);
    expect(names(await page({ filter: `-${t}-`, descending: true }))).toEqual([two, three, one]);
    expect(await page({ filter: `no-such-${t}` })).toEqual({ total: 0, offset: 0, mailboxes: [] });
  });

  it('sorts names in any case, then by their exact text', async () => {
    const t = tag();
    const order = [`ca-${t}-alice`, `ca-${t}-Bob`, `ca-${t}-bob`, `ca-${t}-carol`, `ca-${t}-Zed`];
    await registerMailboxes(service.baseUrl, ...[...order].reverse());
    expect(names(await page({ filter: `ca-${t}-` }))).toEqual(order);
    expect(names(await page({ filter: `ca-${t}-`, descending: true }))).toEqual(
      [...order].reverse(),
    );
  });

  it('orders by creation time', async () => {
    const t = tag();
    const order = [`cr-${t}-z`, `cr-${t}-m`, `cr-${t}-a`];
    for (const name of order) {
      await registerMailboxes(service.baseUrl, name);
      // A new millisecond for the next creation time, so that no tie falls back to the name.
      await sleep(3);
    }
    const created = await page({ filter: `cr-${t}`, orderBy: 'CREATED' });
    expect(names(created)).toEqual(order);
    expect(names(await page({ filter: `cr-${t}`, orderBy: 'CREATED', descending: true }))).toEqual(
      [...order].reverse(),
    );
    expect(names(await page({ filter: `cr-${t}`, orderBy: 'NAME' }))).toEqual([...order].reverse());
  });

  it('orders by last seen as the table shows it: a mailbox never seen first, however recent', async () => {
    const t = tag();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => `ls-${t}-${n}`);
    await registerMailboxes(service.baseUrl, a, c);
    // Each seen as it sends: c, then a.
    await send(service.baseUrl, directInput(c, a));
    await sleep(3);
    await send(service.baseUrl, directInput(a, c));
    // Registered last, and never seen.
    await registerMailboxes(service.baseUrl, b);
    await eventually(async () => {
      const seen = await page({ filter: `ls-${t}`, orderBy: 'LAST_SEEN' });
      return JSON.stringify(names(seen)) === JSON.stringify([b, c, a]);
    });
    const rows = (await page({ filter: `ls-${t}`, orderBy: 'LAST_SEEN' })).mailboxes;
    expect(rows.map((row) => [row.name, row.lastSeenAt === null])).toEqual([
      [b, true],
      [c, false],
      [a, false],
    ]);
  });

  it('orders by unread messages, ties by name', async () => {
    const t = tag();
    const [a, b, c, d, e] = ['a', 'b', 'c', 'd', 'e'].map((n) => `un-${t}-${n}`);
    const sender = `s${t}`;
    await registerMailboxes(service.baseUrl, sender, a, b, c, d, e);
    const sends: Array<[string, number]> = [
      [a, 3],
      [b, 1],
      [c, 2],
      [d, 0],
      [e, 1],
    ];
    for (const [target, count] of sends) {
      for (let n = 0; n < count; n += 1) await send(service.baseUrl, directInput(sender, target));
    }

    const ascending = await page({ filter: `un-${t}`, orderBy: 'UNREAD' });
    expect(ascending.mailboxes.map((row) => [row.name, row.unreadCount])).toEqual([
      [d, 0],
      [b, 1],
      [e, 1],
      [c, 2],
      [a, 3],
    ]);
    const descending = await page({ filter: `un-${t}`, orderBy: 'UNREAD', descending: true });
    expect(names(descending)).toEqual([a, c, e, b, d]);
    const top = await page({ filter: `un-${t}`, orderBy: 'UNREAD', descending: true, first: 2 });
    expect(top.total).toBe(5);
    expect(names(top)).toEqual([a, c]);
  });

  it('counts pending deliveries of an offline mailbox and orders by them', async () => {
    const t = tag();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => `pd-${t}-${n}`);
    const sender = `s${t}`;
    await registerMailboxes(service.baseUrl, sender, a, b, c);
    const tracked = [
      [a, 2],
      [b, 0],
      [c, 1],
    ] as const;
    for (const [target, count] of tracked) {
      for (let n = 0; n < count; n += 1) {
        const sent = await send(
          service.baseUrl,
          directInput(sender, target, { requireConfirmation: true }),
        );
        expect(sent.status).toBe('QUEUED');
      }
    }
    // Untracked messages are unread but not pending.
    await send(service.baseUrl, directInput(sender, b));

    expect(await counts(a)).toMatchObject({ pendingCount: 2, unreadCount: 2 });
    expect(await counts(b)).toMatchObject({ pendingCount: 0, unreadCount: 1 });
    expect(await counts(c)).toMatchObject({ pendingCount: 1, unreadCount: 1 });
    const pending = await page({ filter: `pd-${t}`, orderBy: 'PENDING' });
    expect(pending.mailboxes.map((row) => [row.name, row.pendingCount])).toEqual([
      [b, 0],
      [c, 1],
      [a, 2],
    ]);
    expect(names(await page({ filter: `pd-${t}`, orderBy: 'PENDING', descending: true }))).toEqual([
      a,
      c,
      b,
    ]);
  });

  it('counts dead letters, orders by them and keeps the DEAD_LETTERED ones', async () => {
    const t = tag();
    const [a, b, c] = ['a', 'b', 'c'].map((n) => `dl-${t}-${n}`);
    const sender = `s${t}`;
    await registerMailboxes(service.baseUrl, sender, a, b, c);
    await makeDeadLetters(a, sender, 3);
    await makeDeadLetters(b, sender, 1);

    const ordered = await page({ filter: `dl-${t}`, orderBy: 'DEAD_LETTERS' });
    expect(
      ordered.mailboxes.map((row) => [row.name, row.deadLetterCount, row.pendingCount]),
    ).toEqual([
      [c, 0, 0],
      [b, 1, 0],
      [a, 3, 0],
    ]);
    expect(
      names(await page({ filter: `dl-${t}`, orderBy: 'DEAD_LETTERS', descending: true })),
    ).toEqual([a, b, c]);
    const lettered = await page({ filter: `dl-${t}`, state: 'DEAD_LETTERED' });
    expect(lettered.total).toBe(2);
    expect(names(lettered)).toEqual([a, b]);
  });

  it('keeps mailboxes by state: ACTIVE, INACTIVE, PAUSED, ONLINE', async () => {
    const t = tag();
    const [gone, quiet, live, plain] = ['a', 'b', 'c', 'd'].map((n) => `st-${t}-${n}`);
    await registerMailboxes(service.baseUrl, gone, quiet, live, plain);
    await graphqlOk(
      service.baseUrl,
      'mutation D($n: String!) { deactivateMailbox(name: $n) { name } }',
      {
        n: gone,
      },
    );
    await graphqlOk(
      service.baseUrl,
      'mutation P($n: String!) { pauseMailbox(name: $n) { name } }',
      {
        n: quiet,
      },
    );
    const feed = await subscribeMailbox(service, ws, live);
    const filter = `st-${t}`;

    expect(names(await page({ filter, state: 'ACTIVE' }))).toEqual([quiet, live, plain]);
    const inactive = await page({ filter, state: 'INACTIVE' });
    expect(inactive.total).toBe(1);
    expect(inactive.mailboxes).toEqual([expect.objectContaining({ name: gone, active: false })]);
    const paused = await page({ filter, state: 'PAUSED' });
    expect(paused.mailboxes).toEqual([expect.objectContaining({ name: quiet, paused: true })]);
    const online = await page({ filter, state: 'ONLINE' });
    expect(online.total).toBe(1);
    expect(online.mailboxes).toEqual([expect.objectContaining({ name: live, online: true })]);
    expect(await page({ filter, state: 'DEAD_LETTERED' })).toEqual({
      total: 0,
      offset: 0,
      mailboxes: [],
    });

    feed.unsubscribe();
    await eventually(async () => (await page({ filter, state: 'ONLINE' })).total === 0, 5_000);
    await graphqlOk(
      service.baseUrl,
      'mutation R($n: String!) { resumeMailbox(name: $n) { name } }',
      {
        n: quiet,
      },
    );
    expect(await page({ filter, state: 'PAUSED' })).toEqual({ total: 0, offset: 0, mailboxes: [] });
    // The state filter and paging combine: total counts the state's matches.
    const activeSecond = await page({ filter, state: 'ACTIVE', offset: 1, first: 1 });
    expect(activeSecond.total).toBe(3);
    expect(names(activeSecond)).toEqual([live]);
  });

  it.each([
    ['first 0', { first: 0 }, 'first', 200],
    ['first 201', { first: 201 }, 'first', 200],
    ['first -5', { first: -5 }, 'first', 200],
    ['offset -1', { offset: -1 }, 'offset', undefined],
    ['a filter of 201 characters', { filter: 'x'.repeat(201) }, 'filter', 200],
  ])('refuses %s as BAD_USER_INPUT on its field', async (_what, args, field, limit) => {
    const response = await graphql<{ mailboxPage: PageView }>(service.baseUrl, PAGE, args);
    expect(response.data ?? null).toBeNull();
    expect(response.errors).toHaveLength(1);
    const extensions = refusal(response);
    expect(extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(extensions?.limit).toBe(limit);
  });

  it('takes the limits themselves: first 1 and 200, a filter of 200 characters', async () => {
    const t = tag();
    await registerMailboxes(service.baseUrl, `lim-${t}-1`, `lim-${t}-2`);
    expect(names(await page({ filter: `lim-${t}`, first: 1 }))).toEqual([`lim-${t}-1`]);
    const wide = await page({ filter: `lim-${t}`, first: 200 });
    expect(names(wide)).toEqual([`lim-${t}-1`, `lim-${t}-2`]);
    expect(await page({ filter: 'y'.repeat(200), first: 200 })).toEqual({
      total: 0,
      offset: 0,
      mailboxes: [],
    });
  });

  it('redrives and purges named dead letters: others count 0, redriven PENDING, purged FAILED and still readable', async () => {
    const t = tag();
    const [mine, theirs] = [`rp-${t}-mine`, `rp-${t}-theirs`];
    const sender = `s${t}`;
    await registerMailboxes(service.baseUrl, sender, mine, theirs);
    const [first, second, third] = await makeDeadLetters(mine, sender, 3);
    const [foreign] = await makeDeadLetters(theirs, sender, 1);
    expect(await deadLetterIds(mine)).toEqual([first, second, third].sort());

    // One dead letter of the mailbox, one of another mailbox, one id that names nothing.
    const redriven = await graphqlOk<{ redriveDeadLetters: number }>(
      service.baseUrl,
      REDRIVE_MANY,
      {
        mailbox: mine,
        ids: [first, foreign, ulid()],
      },
    );
    expect(redriven.redriveDeadLetters).toBe(1);
    expect(await deadLetterIds(mine)).toEqual([second, third].sort());
    expect(await deadLetterIds(theirs)).toEqual([foreign]);
    expect(await status(first)).toEqual([
      { mailbox: mine, status: 'PENDING', waitingForSubscriber: true },
    ]);
    expect(await counts(mine)).toMatchObject({ deadLetterCount: 2, pendingCount: 1 });

    // The redriven one is no dead letter any more: it counts 0 for purge.
    const purged = await graphqlOk<{ purgeDeadLetters: number }>(service.baseUrl, PURGE_MANY, {
      mailbox: mine,
      ids: [second, first],
    });
    expect(purged.purgeDeadLetters).toBe(1);
    expect(await deadLetterIds(mine)).toEqual([third]);
    expect(await status(second)).toEqual([
      { mailbox: mine, status: 'FAILED', waitingForSubscriber: false },
    ]);
    expect(await status(first)).toEqual([
      { mailbox: mine, status: 'PENDING', waitingForSubscriber: true },
    ]);
    const { message } = await graphqlOk<{ message: { id: string; content: string } | null }>(
      service.baseUrl,
      'query M($id: ID!) { message(id: $id) { id content } }',
      { id: second },
    );
    expect(message).toEqual({ id: second, content: 'dead 1' });
    expect(await counts(mine)).toMatchObject({ deadLetterCount: 1, pendingCount: 1 });

    // A second purge of the same id finds nothing.
    const again = await graphqlOk<{ purgeDeadLetters: number }>(service.baseUrl, PURGE_MANY, {
      mailbox: mine,
      ids: [second],
    });
    expect(again.purgeDeadLetters).toBe(0);
    expect(await deadLetterIds(theirs)).toEqual([foreign]);
  });

  it('says how many it redrove before a failure, and leaves those redriven', async () => {
    const t = tag();
    const mailbox = `part-${t}`;
    const sender = `s${t}`;
    await registerMailboxes(service.baseUrl, sender, mailbox);
    const [first, second, third] = await makeDeadLetters(mailbox, sender, 3);
    // Redis fails for the second one alone.
    const delivery = service.app.get(DeliveryService);
    const redrive = delivery.redrive.bind(delivery);
    const spy = jest.spyOn(delivery, 'redrive').mockImplementation(async (box, id) => {
      if (id === second) throw new Error('Connection is closed.');
      return redrive(box, id);
    });
    try {
      const response = await graphql(service.baseUrl, REDRIVE_MANY, {
        mailbox,
        ids: [first, second, third],
      });
      expect(response.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/\(2 redriven before it\)$/) as unknown,
        extensions: { code: 'SERVICE_UNAVAILABLE', handled: 2 },
      });
    } finally {
      spy.mockRestore();
    }
    expect(await deadLetterIds(mailbox)).toEqual([second]);
  });

  it('redrives and purges all dead letters of a mailbox without messageIds, and refuses more than 1000 ids', async () => {
    const t = tag();
    const [redo, drop] = [`all-${t}-redo`, `all-${t}-drop`];
    const sender = `s${t}`;
    await registerMailboxes(service.baseUrl, sender, redo, drop);
    const redoIds = await makeDeadLetters(redo, sender, 2);
    const dropIds = await makeDeadLetters(drop, sender, 3);

    const redriven = await graphqlOk<{ redriveDeadLetters: number }>(
      service.baseUrl,
      REDRIVE_MANY,
      {
        mailbox: redo,
      },
    );
    expect(redriven.redriveDeadLetters).toBe(2);
    expect(await deadLetterIds(redo)).toEqual([]);
    for (const id of redoIds) expect((await status(id))[0].status).toBe('PENDING');
    expect(await counts(redo)).toMatchObject({ deadLetterCount: 0, pendingCount: 2 });

    const purged = await graphqlOk<{ purgeDeadLetters: number }>(service.baseUrl, PURGE_MANY, {
      mailbox: drop,
    });
    expect(purged.purgeDeadLetters).toBe(3);
    expect(await deadLetterIds(drop)).toEqual([]);
    for (const id of dropIds) expect((await status(id))[0].status).toBe('FAILED');
    expect(await counts(drop)).toMatchObject({
      deadLetterCount: 0,
      pendingCount: 0,
      unreadCount: 3,
    });
    expect((await page({ filter: `all-${t}`, state: 'DEAD_LETTERED' })).total).toBe(0);

    // Nothing left: both answer 0.
    expect(
      (
        await graphqlOk<{ purgeDeadLetters: number }>(service.baseUrl, PURGE_MANY, {
          mailbox: drop,
        })
      ).purgeDeadLetters,
    ).toBe(0);
    expect(
      (
        await graphqlOk<{ redriveDeadLetters: number }>(service.baseUrl, REDRIVE_MANY, {
          mailbox: redo,
        })
      ).redriveDeadLetters,
    ).toBe(0);

    const tooMany = Array.from({ length: 1001 }, () => ulid());
    for (const document of [REDRIVE_MANY, PURGE_MANY]) {
      const response = await graphql(service.baseUrl, document, { mailbox: redo, ids: tooMany });
      expect(response.data ?? null).toBeNull();
      expect(refusal(response)).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'messageIds',
        limit: 1000,
      });
    }
    // Exactly 1000 is taken (none of them is a dead letter).
    const thousand = await graphqlOk<{ purgeDeadLetters: number }>(service.baseUrl, PURGE_MANY, {
      mailbox: redo,
      ids: tooMany.slice(0, 1000),
    });
    expect(thousand.purgeDeadLetters).toBe(0);
  });

  it('tells mailboxChanges subscribers on one instance what is done on the other', async () => {
    const adminWs = await connectWs(other.wsUrl);
    const changes = new LiveSubscription<Change>(
      adminWs,
      CHANGES,
      {},
      (data) => data.mailboxChanges as Change,
    );
    await waitForListeners(other, `${other.prefix}mailboxes:changes`, 1);
    const name = `ch-${tag()}`;
    const before = Date.now();
    await registerMailboxes(service.baseUrl, name);
    for (const mutation of ['pauseMailbox', 'resumeMailbox', 'deactivateMailbox']) {
      await graphqlOk(
        service.baseUrl,
        `mutation M($n: String!) { ${mutation}(name: $n) { name } }`,
        {
          n: name,
        },
      );
    }
    const deleted = await graphqlOk<{ deleteMailbox: boolean }>(
      service.baseUrl,
      'mutation X($n: String!) { deleteMailbox(name: $n) }',
      { n: name },
    );
    expect(deleted.deleteMailbox).toBe(true);
    const after = Date.now();

    const received = await changes.waitFor(5, 10_000);
    expect(received.map((change) => [change.name, change.kind])).toEqual([
      [name, 'REGISTERED'],
      [name, 'PAUSED'],
      [name, 'RESUMED'],
      [name, 'DEACTIVATED'],
      [name, 'DELETED'],
    ]);
    const times = received.map((change) => Date.parse(change.at));
    for (const time of times) {
      expect(time).toBeGreaterThanOrEqual(before);
      expect(time).toBeLessThanOrEqual(after);
    }
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    expect(changes.errors).toEqual([]);
    changes.unsubscribe();
    await adminWs.dispose();
  });

  it("keeps the order of one instance's announcements on a plain channel, on every topology", async () => {
    // On Cluster a plain PUBLISH names no key: sent through any primary and forwarded by the
    // others, two in a row could arrive swapped (a pause told after its resume).
    const channel = `${service.prefix}order-check`;
    const subscriber = backend.client();
    const received: string[] = [];
    try {
      subscriber.on('message', (from: string, payload: string) => {
        if (from === channel) received.push(payload);
      });
      await subscriber.subscribe(channel);
      const topology = service.app.get(RedisTopology);
      await eventually(async () => {
        await topology.publish(channel, 'ready?');
        return received.length > 0;
      }, 5_000);
      received.length = 0;
      const sent = Array.from({ length: 1_000 }, (_, index) => String(index));
      for (const payload of sent) await topology.publish(channel, payload);
      const numbered = (): string[] => received.filter((payload) => payload !== 'ready?');
      await eventually(() => numbered().length >= sent.length, 10_000);
      expect(numbered()).toEqual(sent);
    } finally {
      subscriber.disconnect();
    }
  });

  it('counts the open graphql-ws connections of the answering instance in routerStatistics', async () => {
    const read = async (app: TestApp): Promise<number> =>
      (await graphqlOk<{ routerStatistics: { connections: number } }>(app.baseUrl, CONNECTIONS))
        .routerStatistics.connections;
    const before = await read(service);
    const elsewhere = await read(other);
    const clients = [await connectWs(service.wsUrl), await connectWs(service.wsUrl)];
    await eventually(async () => (await read(service)) === before + 2, 5_000);
    expect(await read(service)).toBe(before + 2);
    // The other instance counts its own sockets only.
    expect(await read(other)).toBe(elsewhere);
    for (const client of clients) await client.dispose();
    await eventually(async () => (await read(service)) === before, 5_000);
  });

  describe('static console', () => {
    it('serves /console as HTML with its security headers', async () => {
      const response = await rawGet(`${service.baseUrl}/console`);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      const policy = response.headers['content-security-policy'];
      expect(policy).toContain("script-src 'self'");
      expect(policy).toContain("frame-ancestors 'none'");
      expect(response.headers['x-content-type-options']).toBe('nosniff');
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.headers['content-encoding']).toBeUndefined();
      expect(response.body.toString('utf8')).toMatch(/^<!doctype html>/i);
    });

    it('serves /console/graphiql with a policy that lets the editor run workers', async () => {
      const response = await rawGet(`${service.baseUrl}/console/graphiql`);
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
      const policy = response.headers['content-security-policy'];
      expect(policy).toContain("worker-src 'self' blob:");
      expect(policy).toContain("frame-ancestors 'none'");
      expect(response.headers['cache-control']).toBe('no-cache');
      expect(response.body.toString('utf8')).toMatch(/<html/i);
    });

    it('serves the assets the page names: immutable JavaScript, gzipped on request, 304 on a matching etag', async () => {
      const html = (await rawGet(`${service.baseUrl}/console`)).body.toString('utf8');
      const script = /<script[^>]*\ssrc="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      expect(script).toEqual(expect.stringMatching(/^\/console\/assets\/.+\.js$/));
      const referenced = [
        ...new Set([...html.matchAll(/"(\/console\/assets\/[^"]+\.js)"/g)].map((m) => m[1])),
      ];
      expect(referenced).toContain(script);

      const plain = await Promise.all(
        referenced.map(async (path) => ({ path, ...(await rawGet(`${service.baseUrl}${path}`)) })),
      );
      for (const asset of plain) {
        expect(asset.status).toBe(200);
        expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
        expect(asset.headers['cache-control']).toContain('immutable');
        expect(asset.headers['content-encoding']).toBeUndefined();
        expect(asset.headers.etag).toEqual(expect.any(String));
      }

      // The largest one is well worth compressing.
      const largest = plain.reduce((a, b) => (b.body.length > a.body.length ? b : a));
      expect(largest.body.length).toBeGreaterThan(1024);
      const gzipped = await rawGet(`${service.baseUrl}${largest.path}`, {
        'accept-encoding': 'gzip, deflate',
      });
      expect(gzipped.status).toBe(200);
      expect(gzipped.headers['content-encoding']).toBe('gzip');
      expect(gzipped.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(gzipped.headers.vary).toContain('accept-encoding');
      expect(gzipped.body.length).toBeLessThan(largest.body.length);
      expect(gunzipSync(gzipped.body).equals(largest.body)).toBe(true);

      const etag = String(largest.headers.etag);
      const cached = await rawGet(`${service.baseUrl}${largest.path}`, { 'if-none-match': etag });
      expect(cached.status).toBe(304);
      expect(cached.body.length).toBe(0);
      const stale = await rawGet(`${service.baseUrl}${largest.path}`, {
        'if-none-match': '"something-else"',
      });
      expect(stale.status).toBe(200);
      expect(stale.body.equals(largest.body)).toBe(true);

      const page304 = await rawGet(`${service.baseUrl}/console`);
      const pageAgain = await rawGet(`${service.baseUrl}/console`, {
        'if-none-match': String(page304.headers.etag),
      });
      expect(pageAgain.status).toBe(304);
    });

    it('answers 404 for a file the console does not have', async () => {
      expect((await rawGet(`${service.baseUrl}/console/nope`)).status).toBe(404);
      expect((await rawGet(`${service.baseUrl}/console/assets/nope.js`)).status).toBe(404);
    });

    it('answers 404 everywhere under /console with CONSOLE_ENABLED=false', async () => {
      const off = await startTestApp(backend, { CONSOLE_ENABLED: 'false' });
      try {
        expect((await rawGet(`${off.baseUrl}/console`)).status).toBe(404);
        expect((await rawGet(`${off.baseUrl}/console/graphiql`)).status).toBe(404);
        // The API itself is unaffected.
        expect(
          (await graphqlOk<{ mailboxPage: PageView }>(off.baseUrl, PAGE, {})).mailboxPage.total,
        ).toBe(0);
      } finally {
        await off.close();
      }
    });
  });
});

describe(`console API with authentication on (${testTopology()})`, () => {
  let backend: RedisBackend;
  let service: TestApp;
  const tokens: Record<string, string> = {};
  const t = tag();
  const owner = `owner-${t}`;
  const stranger = `stranger-${t}`;

  const as = (token: string | null): Record<string, string> =>
    token ? { authorization: `Bearer ${token}` } : {};

  /** An operation that must succeed with the given token. */
  const ok = async <T>(
    token: string,
    query: string,
    variables: Record<string, unknown> = {},
  ): Promise<T> => {
    const response = await graphql<T>(service.baseUrl, query, variables, as(token));
    if (response.errors?.length || !response.data) {
      throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
    }
    return response.data;
  };

  beforeAll(async () => {
    backend = await startRedisBackend();
    service = await startTestApp(backend, {
      ...FAST_RETRIES,
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      RATE_LIMIT_PER_MINUTE: '100000',
    });
    for (const name of [owner, stranger]) {
      const data = await ok<{ registerMailbox: { token: string } }>(ADMIN, REGISTER, { name });
      tokens[name] = data.registerMailbox.token;
    }
  });

  afterAll(async () => {
    await service.close();
    await backend.destroy();
  });

  it('answers mailboxPage to the admin only', async () => {
    const admin = await ok<{ mailboxPage: PageView }>(ADMIN, PAGE, {});
    expect(admin.mailboxPage.total).toBe(2);
    expect(names(admin.mailboxPage)).toEqual([owner, stranger]);

    const mailboxToken = await graphql(service.baseUrl, PAGE, {}, as(tokens[owner]));
    expect(refusal(mailboxToken)?.code).toBe('FORBIDDEN');
    expect(mailboxToken.data ?? null).toBeNull();
    const none = await graphql(service.baseUrl, PAGE, {});
    expect(refusal(none)?.code).toBe('UNAUTHENTICATED');
    expect(none.data ?? null).toBeNull();
  });

  it('serves /console and /console/graphiql without a token', async () => {
    const page = await rawGet(`${service.baseUrl}/console`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect((await rawGet(`${service.baseUrl}/console/graphiql`)).status).toBe(200);
  });

  it('streams mailboxChanges to the admin and refuses a mailbox token with FORBIDDEN', async () => {
    const mailboxWs = await connectWs(service.wsUrl, { authorization: `Bearer ${tokens[owner]}` });
    const refused = new LiveSubscription(mailboxWs, CHANGES, {}, (data) => data);
    await refused.waitForEnd();
    expect(refused.values).toEqual([]);
    expect(refused.errors[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    await mailboxWs.dispose();

    const adminWs = await connectWs(service.wsUrl, { authorization: `Bearer ${ADMIN}` });
    const changes = new LiveSubscription<Change>(
      adminWs,
      CHANGES,
      {},
      (data) => data.mailboxChanges as Change,
    );
    await waitForListeners(service, `${service.prefix}mailboxes:changes`, 1);
    const name = `late-${t}`;
    await ok(ADMIN, REGISTER, { name });
    const [change] = await changes.waitFor(1);
    expect(change).toMatchObject({ name, kind: 'REGISTERED' });
    changes.unsubscribe();
    await adminWs.dispose();
  });

  it('lets the owner redrive and purge its own dead letters, leaving out mailbox; not a stranger', async () => {
    const ownerWs = await connectWs(service.wsUrl, { authorization: `Bearer ${tokens[owner]}` });
    const deaf = await subscribeMailbox(service, ownerWs, owner);
    const ids: string[] = [];
    for (let n = 0; n < 2; n += 1) {
      const sent = await ok<{ sendMessage: RouteView }>(ADMIN, SEND, {
        input: directInput(stranger, owner, { requireConfirmation: true }),
      });
      expect(sent.sendMessage.status).toBe('SUCCESS');
      ids.push(sent.sendMessage.messageId);
    }
    const ownCounts = async (): Promise<Counts> =>
      (await ok<{ mailbox: Counts }>(tokens[owner], COUNTS, { name: owner })).mailbox;
    await eventually(async () => (await ownCounts()).deadLetterCount === 2, 10_000);
    deaf.unsubscribe();
    await eventually(async () => !(await ownCounts()).online, 5_000);
    await ownerWs.dispose();

    for (const document of [REDRIVE_MANY, PURGE_MANY]) {
      const foreign = await graphql(
        service.baseUrl,
        document,
        { mailbox: owner },
        as(tokens[stranger]),
      );
      expect(refusal(foreign)?.code).toBe('FORBIDDEN');
      const anonymous = await graphql(service.baseUrl, document, { mailbox: owner });
      expect(refusal(anonymous)?.code).toBe('UNAUTHENTICATED');
      // The admin has no mailbox of its own: it must name one.
      const unnamed = await graphql(service.baseUrl, document, {}, as(ADMIN));
      expect(refusal(unnamed)).toMatchObject({ code: 'BAD_USER_INPUT', field: 'mailbox' });
    }
    // The stranger, acting for itself, has no dead letter of the owner's.
    const strangerOwn = await ok<{ purgeDeadLetters: number }>(tokens[stranger], PURGE_MANY, {
      ids,
    });
    expect(strangerOwn.purgeDeadLetters).toBe(0);
    expect((await ownCounts()).deadLetterCount).toBe(2);

    const redriven = await ok<{ redriveDeadLetters: number }>(tokens[owner], REDRIVE_MANY, {
      ids: [ids[0]],
    });
    expect(redriven.redriveDeadLetters).toBe(1);
    const purged = await ok<{ purgeDeadLetters: number }>(tokens[owner], PURGE_MANY, {});
    expect(purged.purgeDeadLetters).toBe(1);
    expect(await ownCounts()).toMatchObject({ deadLetterCount: 0, pendingCount: 1 });

    const statuses = await Promise.all(
      ids.map(
        async (id) =>
          (await ok<{ deliveryStatus: Status[] }>(ADMIN, STATUS, { id })).deliveryStatus,
      ),
    );
    expect(statuses.map((list) => list.map((entry) => entry.status))).toEqual([
      ['PENDING'],
      ['FAILED'],
    ]);
    // The admin, naming the mailbox, finds nothing left.
    expect(
      (await ok<{ redriveDeadLetters: number }>(ADMIN, REDRIVE_MANY, { mailbox: owner }))
        .redriveDeadLetters,
    ).toBe(0);
  });
});
