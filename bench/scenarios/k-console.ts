/**
 * k. Console: what the operator console's mailbox table costs with 10,000 mailboxes. The
 * service in its own process, on a flushed Redis, with 10,000 registered mailboxes, 1,000 of
 * them holding a message. One page of 50 rows with every column the table shows
 * (`mailboxPage`), sorted by name and by unread count, against the same fields of every
 * mailbox at once (`mailboxes`), which is what a table without server-side paging would read.
 * Requests one at a time over HTTP, as the console sends them.
 */
import type { Scenario } from '../lib/context';
import { BENCH_SENDER, graphqlOk, mailboxNames, registerMailboxes } from '../lib/graphql';
import { figure, type Check, type ScenarioOutcome } from '../lib/report';
import { timedCalls as timed } from '../lib/stats';

const ID = 'k';
const MAILBOXES = 10_000;
const WITH_MAIL = 1_000;
const PAGE_REQUESTS = 100;
const ALL_REQUESTS = 10;
const COLUMNS =
  'name active online paused lastSeenAt createdAt unreadCount pendingCount deadLetterCount';
const PAGE = `query Page($orderBy: MailboxOrder, $descending: Boolean) {
  mailboxPage(orderBy: $orderBy, descending: $descending, first: 50) { total mailboxes { ${COLUMNS} } }
}`;
const ALL = `{ mailboxes { ${COLUMNS} } }`;
const SEND_MANY = `mutation Send($inputs: [SendMessageInput!]!) { sendMessages(inputs: $inputs) { status } }`;

interface PageReply {
  mailboxPage: { total: number; mailboxes: Array<{ name: string; unreadCount: number }> };
}

export const consoleTable: Scenario = {
  id: ID,
  name: 'console',
  async run(context): Promise<ScenarioOutcome> {
    await context.redis.client.flushall();
    const service = await context.startService();
    try {
      const names = mailboxNames('bench-k', MAILBOXES);
      context.log(`registering ${MAILBOXES.toLocaleString('en-US')} mailboxes`);
      await registerMailboxes(service.baseUrl, [BENCH_SENDER, ...names]);
      const withMail = names.filter((_, index) => index % (MAILBOXES / WITH_MAIL) === 0);
      for (let index = 0; index < withMail.length; index += 100) {
        await graphqlOk(service.baseUrl, SEND_MANY, {
          inputs: withMail.slice(index, index + 100).map((target) => ({
            sender: BENCH_SENDER,
            mode: 'DIRECT',
            target,
            content: 'one unread message',
          })),
        });
      }

      const page = (orderBy: string, descending: boolean) => () =>
        graphqlOk<PageReply>(service.baseUrl, PAGE, { orderBy, descending });
      context.log(`mailboxPage by name, then by unread count: ${PAGE_REQUESTS} requests each`);
      await page('NAME', false)();
      const byName = await timed(PAGE_REQUESTS, page('NAME', false));
      const byUnread = await timed(PAGE_REQUESTS, page('UNREAD', true));
      context.log(`baseline: mailboxes with the same fields, ${ALL_REQUESTS} requests`);
      const all = await timed(ALL_REQUESTS, () => graphqlOk(service.baseUrl, ALL));

      const nameReply = byName.last as PageReply;
      const unreadReply = byUnread.last as PageReply;
      const checks: Check[] = [
        {
          scenario: ID,
          name: 'the page by name is the first 50 names of all',
          ok:
            nameReply.mailboxPage.total === MAILBOXES + 1 &&
            nameReply.mailboxPage.mailboxes.map((mailbox) => mailbox.name).join() ===
              [BENCH_SENDER, ...names].sort().slice(0, 50).join(),
          detail: `total ${nameReply.mailboxPage.total}, ${nameReply.mailboxPage.mailboxes.length} rows`,
        },
        {
          scenario: ID,
          name: 'the page by unread count starts with the mailboxes holding mail',
          ok: unreadReply.mailboxPage.mailboxes.every((mailbox) => mailbox.unreadCount === 1),
          detail: `${unreadReply.mailboxPage.mailboxes.filter((mailbox) => mailbox.unreadCount === 1).length} of 50 rows with 1 unread`,
        },
      ];
      const allLatency = all.latency.summary();
      const baseline = { label: `all ${MAILBOXES.toLocaleString('en-US')}`, value: allLatency.p50 };
      const nameLatency = byName.latency.summary();
      const unreadLatency = byUnread.latency.summary();
      return {
        figures: [
          figure(
            ID,
            `mailboxPage 50 of ${MAILBOXES.toLocaleString('en-US')} by name p50`,
            nameLatency.p50,
            'ms',
            baseline,
            // The table turns a page in well under a tenth of a second.
            { on: 'value', op: '<=', value: 100 },
            { byName: nameLatency, all: allLatency },
          ),
          figure(
            ID,
            'mailboxPage by name p99',
            nameLatency.p99,
            'ms',
            { label: baseline.label, value: allLatency.p99 },
            null,
          ),
          figure(
            ID,
            'mailboxPage by unread count p50',
            unreadLatency.p50,
            'ms',
            baseline,
            // A sort by a count reads it for every mailbox: a second at most.
            { on: 'value', op: '<=', value: 1_000 },
            { byUnread: unreadLatency },
          ),
        ],
        checks,
        notes: service.problemsSinceReady().slice(0, 5),
      };
    } finally {
      await service.stop();
    }
  },
};
