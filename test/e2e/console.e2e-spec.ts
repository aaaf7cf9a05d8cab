import type { Client } from 'graphql-ws';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, WebSocket } from 'playwright-core';
import { directInput, topicInput } from '../factories/messages';
import { launchChromium, screenshotDir, seriousViolations } from '../utils/browser';
import {
  connectWs,
  eventually,
  graphql,
  LiveSubscription,
  type GraphqlResponse,
} from '../utils/graphql-client';
import { startRedisBackend, type RedisBackend } from '../utils/redis-backend';
import { mailboxChannel, waitForListeners } from '../utils/service';
import { startTestApp, type TestApp } from '../utils/test-app';

// The operator console in Debian's Chromium, driven by playwright-core as a person would use
// it: sign in, the mailbox table (live), a thread, a dead letter redriven, pause, compose, the
// GraphQL explorer; with axe-core's accessibility rules at a desktop and a phone width.

const ADMIN = 'admin-token-for-the-console-browser-tests';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };
/** How long a step may take to show on a loaded machine: a bound on hanging, not a speed. */
const SHOWN = 15_000;
/** The largest content a message may have (ROUTER_MAX_PAYLOAD_SIZE's default). */
const MB15 = 15 * 1024 * 1024;
/** What the console draws of a body until asked for all of it (SHOWN_BYTES, ui.tsx). */
const SHOWN_BYTES = 256 * 1024;
/** Characters a page may hold with every large body left out: previews and the envelope. */
const LIGHT_PAGE = 200_000;

const REGISTER = `mutation Register($name: String!) { registerMailbox(name: $name) { token } }`;
const SEND = `mutation Send($input: SendMessageInput!) { sendMessage(input: $input) { messageId status threadId } }`;
const STATUS = `query Status($id: ID!) { deliveryStatus(messageId: $id) { status } }`;
const MAILBOX = `query Mailbox($name: String!) { mailbox(name: $name) { paused messages { nodes { sender content } } } }`;
const FEED = `subscription Feed($mailbox: String!) { mailboxMessages(mailbox: $mailbox) { id } }`;

describe('operator console in a browser', () => {
  let backend: RedisBackend;
  let service: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const tokens = new Map<string, string>();
  const shots = screenshotDir();
  /** Every URL the pages asked for, to check that none leaves the service. */
  const requested: string[] = [];
  /** What Chromium printed about Content-Security-Policy violations and script errors. */
  const pageErrors: string[] = [];

  async function admin<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const response: GraphqlResponse<T> = await graphql<T>(service.baseUrl, query, variables, {
      authorization: `Bearer ${ADMIN}`,
    });
    if (response.errors?.length || !response.data) {
      throw new Error(`GraphQL errors: ${JSON.stringify(response.errors)}`);
    }
    return response.data;
  }

  async function register(...names: string[]): Promise<void> {
    for (const name of names) {
      const { registerMailbox } = await admin<{ registerMailbox: { token: string } }>(REGISTER, {
        name,
      });
      tokens.set(name, registerMailbox.token);
    }
  }

  async function sendAsAdmin(input: Record<string, unknown>): Promise<string> {
    const { sendMessage } = await admin<{ sendMessage: { messageId: string } }>(SEND, { input });
    return sendMessage.messageId;
  }

  async function deliveryStatus(messageId: string): Promise<string | undefined> {
    return (await admin<{ deliveryStatus: Array<{ status: string }> }>(STATUS, { id: messageId }))
      .deliveryStatus[0]?.status;
  }

  /**
   * Sends each input to `mailbox`, asking for a confirmation that its one subscriber never
   * gives, and waits until it is a dead letter before the next: the last is the newest.
   */
  async function deadLettersOf(
    mailbox: string,
    inputs: Array<Record<string, unknown>>,
  ): Promise<string[]> {
    const ws: Client = await connectWs(service.wsUrl, {
      authorization: `Bearer ${tokens.get(mailbox)}`,
    });
    const feed = new LiveSubscription(ws, FEED, { mailbox }, (data) => data);
    const ids: string[] = [];
    try {
      await waitForListeners(service, mailboxChannel(service, mailbox), 1);
      for (const input of inputs) {
        const id = await sendAsAdmin({ ...input, target: mailbox, requireConfirmation: true });
        await eventually(async () => (await deliveryStatus(id)) === 'FAILED', SHOWN);
        ids.push(id);
      }
    } finally {
      feed.unsubscribe();
      await ws.dispose();
    }
    return ids;
  }

  /** Characters of text in the page: a body of megabytes drawn whole shows here. */
  async function pageText(): Promise<number> {
    return page.evaluate<number>('document.body.textContent.length');
  }

  /** The operations the console sends over its WebSocket from now on. */
  function sentQueries(): string[] {
    const queries: string[] = [];
    page.on('websocket', (socket) => {
      socket.on('framesent', ({ payload }) => queries.push(String(payload)));
    });
    return queries;
  }

  async function shoot(name: string): Promise<void> {
    await page.screenshot({ path: join(shots, `console-${name}.png`), fullPage: false });
  }

  async function signIn(token = ADMIN): Promise<void> {
    await page.goto(`${service.baseUrl}/console`);
    await page.getByLabel('Admin token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  /** The mailbox table's row of `name`, once it shows. */
  function mailboxRow(name: string) {
    return page
      .getByRole('table', { name: 'Mailboxes' })
      .getByRole('row')
      .filter({ has: page.getByRole('link', { name, exact: true }) });
  }

  async function go(section: string): Promise<void> {
    await page
      .getByRole('navigation', { name: 'Sections' })
      .getByRole('link', { name: section, exact: true })
      .click();
    await page.getByRole('heading', { level: 2, name: section }).waitFor({ timeout: SHOWN });
  }

  beforeAll(async () => {
    backend = await startRedisBackend();
    service = await startTestApp(backend, {
      AUTH_ENABLED: 'true',
      ADMIN_TOKEN: ADMIN,
      ROUTER_MAX_RETRY_ATTEMPTS: '1',
      ROUTER_BASE_RETRY_DELAY: '0.1',
      ROUTER_RETRY_CHECK_INTERVAL: '0.05',
      ROUTER_RETRY_JITTER: 'false',
    });
    await register('planner', 'worker', 'reviewer');
    browser = await launchChromium();
  }, 60_000);

  beforeEach(async () => {
    context = await browser.newContext({ viewport: DESKTOP });
    page = await context.newPage();
    page.on('request', (request) => requested.push(request.url()));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });

  afterEach(async () => {
    await context.close();
  });

  afterAll(async () => {
    await browser?.close();
    await service?.close();
    await backend?.destroy();
  });

  it('refuses a wrong token and a mailbox token, and stays on the sign-in form', async () => {
    await signIn('not-the-admin-token-at-all');
    const alert = page.getByRole('alert');
    await alert.waitFor({ timeout: SHOWN });
    expect(await alert.textContent()).toContain('UNAUTHENTICATED');
    await shoot('sign-in-refused');

    await page.getByLabel('Admin token').fill(tokens.get('planner')!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'FORBIDDEN' }).waitFor({ timeout: SHOWN });
    expect(await page.locator('input[name="token"]').count()).toBe(1);
    expect(await page.getByRole('table', { name: 'Mailboxes' }).count()).toBe(0);
    expect(await page.evaluate<number>('sessionStorage.length')).toBe(0);
  });

  it('signs in with the admin token, lists the mailboxes, and shows one registered meanwhile without a reload', async () => {
    await signIn();
    await mailboxRow('planner').waitFor({ timeout: SHOWN });
    for (const name of ['reviewer', 'worker']) expect(await mailboxRow(name).count()).toBe(1);
    // The token is kept for this tab only.
    expect(await page.evaluate<number>('localStorage.length')).toBe(0);
    expect(
      await page.evaluate<string | null>("sessionStorage.getItem('mailbox-console-token')"),
    ).toBe(ADMIN);
    await shoot('mailboxes');

    const navigations: string[] = [];
    page.on('framenavigated', (frame) => navigations.push(frame.url()));
    await register('auditor');
    await mailboxRow('auditor').waitFor({ timeout: SHOWN });
    expect(navigations).toEqual([]);
  });

  it('browses a mailbox without consuming it, follows a message to its thread, and pauses the thread', async () => {
    const question = await sendAsAdmin(
      directInput('planner', 'worker', { subject: 'Plan review', content: 'Can you review?' }),
    );
    await sendAsAdmin({
      sender: 'worker',
      mode: 'DIRECT',
      inReplyTo: question,
      content: 'Reviewed: <b>looks good</b>',
    });
    await sendAsAdmin(
      directInput('planner', 'worker', { content: `Status:\n${'all good. '.repeat(30)}` }),
    );
    // Two bodies whose previews fold to the same short text: one of 160 characters (the
    // preview holds it whole), one of 161 (it goes on).
    await sendAsAdmin(directInput('planner', 'worker', { content: 'Padded note'.padEnd(160) }));
    await sendAsAdmin(
      directInput('planner', 'worker', { content: `${'Longer note'.padEnd(160)}x` }),
    );
    // The console speaks graphql-ws: its operations are the frames it sends.
    const queries: string[] = [];
    const listen = (socket: WebSocket): void => {
      socket.on('framesent', ({ payload }) => queries.push(String(payload)));
    };
    page.on('websocket', listen);
    await signIn();
    await page.getByRole('link', { name: 'worker', exact: true }).click();
    await page.getByRole('heading', { name: 'Mailbox worker' }).waitFor({ timeout: SHOWN });
    // The list reads each body's preview, never the bodies: a message without a subject shows
    // the start of its body, whitespace folded.
    await page
      .getByRole('button', { name: `Status: ${'all good. '.repeat(8).slice(0, 72)}…` })
      .waitFor({ timeout: SHOWN });
    await page.getByRole('button', { name: 'Padded note', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Longer note…', exact: true }).waitFor();
    page.off('websocket', listen);
    const list = queries.find((query) => query.includes('query Messages'));
    expect(list).toContain(' preview previewTruncated ');
    expect(list).not.toMatch(/\bcontent\b/);
    await page.getByRole('button', { name: 'Plan review' }).click();
    await page.getByRole('heading', { name: `Message ${question}` }).waitFor({ timeout: SHOWN });
    // The list holds previews; the message shown is read whole.
    const body = page.locator('.detail pre.content');
    await eventually(async () => (await body.textContent()) === 'Can you review?', SHOWN);
    await shoot('message');

    await page.getByRole('link', { name: 'View thread' }).click();
    await page.getByRole('heading', { name: /^Thread / }).waitFor({ timeout: SHOWN });
    const articles = page.locator('article');
    await eventually(async () => (await articles.count()) === 2, SHOWN);
    expect(await articles.nth(0).textContent()).toContain('Can you review?');
    // Message text is shown as text, never as HTML.
    expect(await articles.nth(1).textContent()).toContain('Reviewed: <b>looks good</b>');
    expect(await page.locator('article b').count()).toBe(0);
    // The budget counts from the thread's second message.
    await page.getByText(/tokens over 1 message$/).waitFor({ timeout: SHOWN });
    await shoot('thread');

    // The thread's kill switch.
    const paused = async (): Promise<boolean> =>
      (
        await admin<{ threadBudget: { paused: boolean } }>(
          `query Budget($id: String!) { threadBudget(threadId: $id) { paused } }`,
          { id: question },
        )
      ).threadBudget.paused;
    await page.getByRole('button', { name: 'Pause thread' }).click();
    await page.getByRole('button', { name: 'Resume thread' }).waitFor({ timeout: SHOWN });
    expect(await paused()).toBe(true);
    await page.getByRole('button', { name: 'Resume thread' }).click();
    await page.getByRole('button', { name: 'Pause thread' }).waitFor({ timeout: SHOWN });
    expect(await paused()).toBe(false);

    // Browsing read nothing on the owner's behalf: the question, the status and the notes stay
    // unread.
    const { mailbox } = await admin<{ mailbox: { messages: { nodes: unknown[] } } }>(
      `query { mailbox(name: "worker") { unreadCount messages(unreadOnly: true) { nodes { id } } } }`,
    );
    expect(mailbox.messages.nodes).toHaveLength(4);
  });

  it('redrives a dead letter and purges another, and both leave the list', async () => {
    // A subscriber that never confirms: after two pushes the delivery is a dead letter.
    await register('deaf');
    const ws: Client = await connectWs(service.wsUrl, {
      authorization: `Bearer ${tokens.get('deaf')}`,
    });
    const channel = mailboxChannel(service, 'deaf');
    const feed = new LiveSubscription(ws, FEED, { mailbox: 'deaf' }, (data) => data);
    await waitForListeners(service, channel, 1);
    const [id, purged] = await Promise.all(
      ['Ack this', 'Ack that'].map((subject) =>
        sendAsAdmin(directInput('planner', 'deaf', { requireConfirmation: true, subject })),
      ),
    );
    const status = async (messageId: string): Promise<string | undefined> =>
      (await admin<{ deliveryStatus: Array<{ status: string }> }>(STATUS, { id: messageId }))
        .deliveryStatus[0]?.status;
    await eventually(
      async () => (await status(id)) === 'FAILED' && (await status(purged)) === 'FAILED',
      SHOWN,
    );
    feed.unsubscribe();
    await ws.dispose();

    await signIn();
    await go('Dead letters');
    const redrive = page.getByRole('button', { name: `Redrive ${id}` });
    await redrive.waitFor({ timeout: SHOWN });
    await shoot('dead-letters');
    await redrive.click();
    await page.getByRole('status').filter({ hasText: 'Redrove 1 dead letter' }).waitFor({
      timeout: SHOWN,
    });
    await redrive.waitFor({ state: 'detached', timeout: SHOWN });
    expect(await status(id)).toBe('PENDING');

    // Purging asks first; accepted, the letter goes and its delivery stays FAILED.
    const asked: string[] = [];
    page.once('dialog', (dialog) => {
      asked.push(dialog.message());
      void dialog.accept();
    });
    await page.getByRole('button', { name: `Purge ${purged}` }).click();
    await page.getByRole('status').filter({ hasText: 'Purged 1 dead letter' }).waitFor({
      timeout: SHOWN,
    });
    await page
      .getByRole('button', { name: `Purge ${purged}` })
      .waitFor({ state: 'detached', timeout: SHOWN });
    expect(asked).toHaveLength(1);
    expect(await status(purged)).toBe('FAILED');
    // A new filter clears what the last action said.
    await page.getByLabel('Mailbox').fill('nosuch');
    await page.getByText('No dead letters').waitFor({ timeout: SHOWN });
    expect(await page.getByRole('status').filter({ hasText: 'Purged' }).count()).toBe(0);
  });

  it('lists dead letters of 15 MiB messages by their previews, with an older one behind them', async () => {
    await register('hoard');
    // A small dead letter first, then five of 15 MiB without a subject: 75 MiB of bodies, more
    // than one operation reads.
    try {
      const [legitimate] = await deadLettersOf('hoard', [
        { sender: 'planner', mode: 'DIRECT', subject: 'Legitimate request', content: 'Small' },
      ]);
      const large = await deadLettersOf(
        'hoard',
        [1, 2, 3, 4, 5].map((n) => ({
          sender: 'planner',
          mode: 'DIRECT',
          content: `Large ${n} `.padEnd(MB15, 'x'),
        })),
      );
      const queries = sentQueries();
      await signIn();
      await go('Dead letters');
      await page.getByRole('button', { name: `Redrive ${legitimate}` }).waitFor({ timeout: SHOWN });
      const rows = page.getByRole('table', { name: 'Dead letters' }).getByRole('row');
      const row = (id: string) => rows.filter({ has: page.getByRole('link', { name: id }) });
      for (const id of large) expect(await row(id).count()).toBe(1);
      expect(await row(legitimate).textContent()).toContain('Legitimate request');
      // The list reads no body; the previews, apart, read the start of each body while the
      // bodies they count stay within 64 MiB: the four newest.
      await eventually(
        async () => (await row(large[4]).textContent())!.includes('Large 5 x'),
        SHOWN,
      );
      const list = queries.find((query) => query.includes('query Dead('));
      expect(list).toBeDefined();
      expect(list).not.toMatch(/\bcontent\b|\bpreview\b/);
      for (const [index, id] of large.entries()) {
        const subject = await row(id).getByRole('cell').nth(4).textContent();
        expect(subject).toBe(
          index === 0 ? '(preview not read)' : `Large ${index + 1} ${'x'.repeat(72)}…`,
        );
      }
      await page
        .getByText('No preview for 1 dead letter without a subject', { exact: false })
        .waitFor({ timeout: SHOWN });
      expect(await page.getByText(/^Only \d+ of the newest/).count()).toBe(0);
      expect(await pageText()).toBeLessThan(LIGHT_PAGE);
      await shoot('dead-letters-large');
    } finally {
      await admin(`mutation { purgeDeadLetters(mailbox: "hoard") }`);
    }
  }, 120_000);

  it('says so when dead letters past the read limit are left out of the list, and pages on to them', async () => {
    await register('hoard-meta');
    // Metadata counts however little of the message is asked for: five of 14 MiB each leave
    // the oldest dead letters out of one operation's answer.
    try {
      const [legitimate] = await deadLettersOf('hoard-meta', [
        { sender: 'planner', mode: 'DIRECT', subject: 'Legitimate request', content: 'Small' },
      ]);
      await deadLettersOf(
        'hoard-meta',
        [1, 2, 3, 4, 5].map((n) => ({
          sender: 'planner',
          mode: 'DIRECT',
          subject: `Heavy ${n}`,
          content: 'Small',
          metadata: { blob: 'm'.repeat(14 * 1024 * 1024) },
        })),
      );
      await signIn();
      await go('Dead letters');
      await page.getByLabel('Mailbox').fill('hoard-meta');
      await page.getByRole('button', { name: 'Redrive all' }).waitFor({ timeout: SHOWN });
      await page
        .getByText('Only 4 of the newest 6 dead letters are listed', { exact: false })
        .waitFor({ timeout: SHOWN });
      const rows = page.getByRole('table', { name: 'Dead letters' }).locator('tbody tr');
      expect(await rows.count()).toBe(4);
      expect(await page.getByRole('button', { name: `Redrive ${legitimate}` }).count()).toBe(0);
      // Older goes on after the last listed: the other two, and nothing said cut.
      await page.getByRole('button', { name: 'Older' }).click();
      await page.getByRole('button', { name: `Redrive ${legitimate}` }).waitFor({ timeout: SHOWN });
      expect(await rows.count()).toBe(2);
      expect(await rows.nth(0).textContent()).toContain('Heavy 1');
      expect(await page.getByText(/^Only \d+ of the/).count()).toBe(0);
      expect(await page.getByRole('button', { name: 'Older' }).isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Newer' }).click();
      await page
        .getByText('Only 4 of the newest 6 dead letters are listed', { exact: false })
        .waitFor({ timeout: SHOWN });
      // Every mailbox's: the same cut, told from the dead-lettered mailboxes' counts.
      await page.getByLabel('Mailbox').fill('');
      await page.getByRole('button', { name: 'Redrive all' }).waitFor({ state: 'detached' });
      await page
        .locator('table[aria-busy="false"]', { hasText: 'Heavy 5' })
        .waitFor({ timeout: SHOWN });
      expect(await rows.count()).toBe(4);
      await page
        .getByText('Only 4 of the newest 6 dead letters are listed', { exact: false })
        .waitFor({ timeout: SHOWN });
      await shoot('dead-letters-cut');
    } finally {
      await admin(`mutation { purgeDeadLetters(mailbox: "hoard-meta") }`);
    }
  }, 120_000);

  it('shows a thread, a topic and a mailbox of 15 MiB messages by their previews, and a body on request, capped', async () => {
    await register('keeper');
    const question = await sendAsAdmin(
      directInput('planner', 'keeper', { content: `Question `.padEnd(MB15, 'q') }),
    );
    const answer = await sendAsAdmin({
      sender: 'keeper',
      mode: 'DIRECT',
      inReplyTo: question,
      content: `Answer `.padEnd(MB15, 'a'),
    });
    await sendAsAdmin({ sender: 'planner', mode: 'DIRECT', inReplyTo: answer, content: 'Thanks' });
    for (const n of [1, 2]) {
      await sendAsAdmin(
        topicInput('planner', 'agents.keeper.dump', { content: `Dump ${n} `.padEnd(MB15, 'd') }),
      );
    }
    await sendAsAdmin(topicInput('planner', 'agents.keeper.dump', { content: 'Dump done' }));
    const queries = sentQueries();
    await signIn();
    await mailboxRow('planner').waitFor({ timeout: SHOWN });

    // The thread: each body's preview (160 characters), the whole body only on request.
    await page.goto(`${service.baseUrl}/console#thread/${question}`);
    await page.getByRole('heading', { name: `Thread ${question}` }).waitFor({ timeout: SHOWN });
    const articles = page.locator('article');
    await eventually(async () => (await articles.count()) === 3, SHOWN);
    const bodies = page.locator('article pre.content');
    expect(await bodies.allTextContents()).toEqual([
      `Question `.padEnd(160, 'q') + '…',
      `Answer `.padEnd(160, 'a') + '…',
      'Thanks',
    ]);
    expect(await pageText()).toBeLessThan(LIGHT_PAGE);
    expect(queries.find((query) => query.includes('query Thread'))).not.toMatch(/\bcontent\b/);
    await shoot('thread-large');
    await articles.nth(1).getByRole('button', { name: 'Show full message' }).click();
    const shown = articles.nth(1).getByRole('button', { name: 'Show all (15.0 MiB)' });
    await shown.waitFor({ timeout: SHOWN });
    expect(await articles.nth(1).locator('pre.content').textContent()).toBe(
      `Answer `.padEnd(SHOWN_BYTES, 'a') + '…',
    );
    expect(await pageText()).toBeLessThan(LIGHT_PAGE + SHOWN_BYTES);
    expect(await articles.nth(2).getByRole('button', { name: 'Show full message' }).count()).toBe(
      0,
    );
    expect(await seriousViolations(page)).toEqual([]);

    // A topic's messages: previews too.
    await go('Topics');
    await page.getByRole('button', { name: 'agents.keeper.dump' }).click();
    await page.getByText('Dump done', { exact: true }).waitFor({ timeout: SHOWN });
    expect(await bodies.allTextContents()).toEqual([
      `Dump 1 `.padEnd(160, 'd') + '…',
      `Dump 2 `.padEnd(160, 'd') + '…',
      'Dump done',
    ]);
    expect(await pageText()).toBeLessThan(LIGHT_PAGE);
    expect(queries.find((query) => query.includes('query TopicMessages'))).not.toMatch(
      /\bcontent\b/,
    );

    // The message opened in the mailbox: its first 256 KiB, then all of it on request.
    await page.goto(`${service.baseUrl}/console#mailbox/keeper`);
    await page
      .getByRole('button', { name: `Question ${'q'.repeat(71)}…` })
      .click({ timeout: SHOWN });
    await page.getByRole('heading', { name: `Message ${question}` }).waitFor({ timeout: SHOWN });
    const all = page.getByRole('button', { name: 'Show all (15.0 MiB)' });
    await all.waitFor({ timeout: SHOWN });
    const body = page.locator('.detail pre.content');
    expect(await body.textContent()).toBe(`Question `.padEnd(SHOWN_BYTES, 'q') + '…');
    expect(await pageText()).toBeLessThan(LIGHT_PAGE + SHOWN_BYTES);
    expect(await seriousViolations(page)).toEqual([]);
    await shoot('message-large');
    await all.click();
    await all.waitFor({ state: 'detached', timeout: SHOWN });
    expect(
      await page.evaluate<number>(
        "document.querySelector('.detail pre.content').textContent.length",
      ),
    ).toBe(MB15);
  }, 120_000);

  it('sends a policy that lets the pages connect to the service alone, and the console no inline style', async () => {
    const directives = (policy: string | undefined): Map<string, string> =>
      new Map(
        (policy ?? '').split(';').map((directive) => {
          const [name, ...values] = directive.trim().split(/\s+/);
          return [name, values.join(' ')];
        }),
      );
    const consolePage = await page.goto(`${service.baseUrl}/console`);
    const consolePolicy = directives(consolePage?.headers()['content-security-policy']);
    expect(consolePolicy.get('connect-src')).toBe("'self'");
    expect(consolePolicy.get('style-src')).toBe("'self'");
    const explorerPage = await page.goto(`${service.baseUrl}/console/graphiql`);
    const explorerPolicy = directives(explorerPage?.headers()['content-security-policy']);
    expect(explorerPolicy.get('connect-src')).toBe("'self'");
    // The explorer's editor sets inline styles.
    expect(explorerPolicy.get('style-src')).toBe("'self' 'unsafe-inline'");

    // The console's own WebSocket connects under it.
    const socket = page.waitForEvent('websocket');
    await signIn();
    const opened = await socket;
    expect(opened.url()).toBe(service.wsUrl);
    await page.getByText('Connected', { exact: true }).waitFor({ timeout: SHOWN });
    await mailboxRow('planner').waitFor({ timeout: SHOWN });

    // In a page of its own (what it breaks is on purpose): a socket to another host, and an
    // inline style, are refused.
    const probe = await (await browser.newContext()).newPage();
    try {
      await probe.goto(`${service.baseUrl}/console`);
      const elsewhere = service.wsUrl.replace('127.0.0.1', 'localhost');
      const refused = await probe.evaluate<string>(`new Promise((resolve) => {
        document.addEventListener('securitypolicyviolation', (event) =>
          resolve(event.effectiveDirective + ' ' + event.blockedURI),
        );
        try {
          new WebSocket(${JSON.stringify(elsewhere)}).onopen = () => resolve('opened');
        } catch (error) {
          resolve('threw ' + error.name);
        }
      })`);
      expect(refused).toMatch(/^connect-src ws:\/\/localhost:|^threw SecurityError$/);
      const colour = await probe.evaluate<string>(`
        document.body.insertAdjacentHTML(
          'beforeend',
          '<p id="inline-style" style="color: rgb(1, 2, 3)">probe</p>',
        );
        getComputedStyle(document.getElementById('inline-style')).color;
      `);
      expect(colour).not.toBe('rgb(1, 2, 3)');
    } finally {
      await probe.context().close();
    }
  });

  it('pauses and resumes a mailbox from the table', async () => {
    await signIn();
    await page.getByRole('button', { name: 'Pause reviewer' }).click();
    await page.getByRole('button', { name: 'Resume reviewer' }).waitFor({ timeout: SHOWN });
    expect(
      (await admin<{ mailbox: { paused: boolean } }>(MAILBOX, { name: 'reviewer' })).mailbox.paused,
    ).toBe(true);
    expect(await mailboxRow('reviewer').textContent()).toContain('paused');

    await page.getByRole('button', { name: 'Resume reviewer' }).click();
    await page.getByRole('button', { name: 'Pause reviewer' }).waitFor({ timeout: SHOWN });
    expect(
      (await admin<{ mailbox: { paused: boolean } }>(MAILBOX, { name: 'reviewer' })).mailbox.paused,
    ).toBe(false);
  });

  it('sends as the operator from the compose form', async () => {
    await signIn();
    await go('Compose');
    const form = page.getByRole('form', { name: 'Compose' });
    await form.getByLabel('From mailbox').fill('planner');
    await form.getByLabel('To', { exact: true }).fill('reviewer');
    await form.getByLabel('Subject').fill('From the console');
    await form.getByLabel('Content').fill('Sent by the operator');
    await shoot('compose');
    // A mutation goes once, as an HTTP POST (the socket's client would send it again after a
    // reconnect), with a key for its draft.
    const posted = page.waitForRequest(
      (request) =>
        request.method() === 'POST' &&
        new URL(request.url()).pathname === '/graphql' &&
        (request.postData() ?? '').includes('mutation Send'),
    );
    await form.getByRole('button', { name: 'Send' }).click();
    const body = JSON.parse((await posted).postData() ?? '{}') as {
      variables: { input: { idempotencyKey?: string } };
    };
    expect(body.variables.input.idempotencyKey).toMatch(/^console-[0-9a-f]{32}$/);
    await page.getByRole('status').filter({ hasText: 'QUEUED' }).waitFor({ timeout: SHOWN });
    const { mailbox } = await admin<{
      mailbox: { messages: { nodes: Array<{ sender: string; content: string }> } };
    }>(MAILBOX, { name: 'reviewer' });
    expect(mailbox.messages.nodes).toContainEqual({
      sender: 'planner',
      content: 'Sent by the operator',
    });
  });

  it('shows the overview with live rates, and the topics', async () => {
    await sendAsAdmin(topicInput('planner', 'agents.planner.status', { content: 'busy' }));
    await signIn();
    await go('Overview');
    await page.getByText('Delivered', { exact: true }).first().waitFor({ timeout: SHOWN });
    // Rates need two samples of routerStatistics, polled over the socket every 2 s.
    await page.getByText(/Rates over the last [1-9]\d* samples?/).waitFor({ timeout: SHOWN });
    await shoot('overview');

    // 55 more: past a page of 50, the later ones a page further.
    for (let n = 0; n < 55; n += 1) {
      await sendAsAdmin(topicInput('planner', 'agents.planner.status', { content: `step ${n}` }));
    }
    await go('Topics');
    await page.getByRole('button', { name: 'agents.planner.status' }).click();
    await page.getByText('busy', { exact: true }).first().waitFor({ timeout: SHOWN });
    await shoot('topics');
    expect(await page.getByText('step 54', { exact: true }).count()).toBe(0);
    await page.getByRole('button', { name: 'Later messages' }).click();
    await page.getByText('step 54', { exact: true }).waitFor({ timeout: SHOWN });
  });

  it('runs a query in the GraphQL explorer with the signed-in token', async () => {
    await signIn();
    await mailboxRow('planner').waitFor({ timeout: SHOWN });
    await page.goto(`${service.baseUrl}/console/graphiql`);
    // The editor (Monaco) fills in the default query once its workers run.
    await page
      .locator('.graphiql-query-editor')
      .filter({ hasText: 'routerStatistics' })
      .waitFor({ timeout: SHOWN });
    await page.locator('.graphiql-execute-button').click();
    await page
      .locator('.graphiql-response')
      .filter({ hasText: 'messagesRouted' })
      .waitFor({ timeout: SHOWN });
    expect(await page.locator('.graphiql-response').textContent()).not.toContain('errors');
    await shoot('graphiql');
    // Its tabs and history (which keep each run's headers) stay in this tab's storage.
    const kept = await page.evaluate(`({
      local: Object.keys(localStorage).filter((key) => key.startsWith('graphiql')),
      session: Object.keys(sessionStorage).some((key) => key.startsWith('graphiql')),
    })`);
    expect(kept).toEqual({ local: [], session: true });
  });

  it('can be used with the keyboard alone', async () => {
    await page.goto(`${service.baseUrl}/console`);
    await page.getByLabel('Admin token').waitFor({ timeout: SHOWN });
    await page.keyboard.press('Tab');
    expect(await page.evaluate<string | null>("document.activeElement?.getAttribute('name')")).toBe(
      'token',
    );
    await page.keyboard.type(ADMIN);
    await page.keyboard.press('Enter');
    await mailboxRow('planner').waitFor({ timeout: SHOWN });
    // Tab to the Dead letters section link and open it with Enter.
    for (let step = 0; step < 20; step += 1) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate<string | undefined>(
        'document.activeElement?.textContent?.trim()',
      );
      if (focused === 'Dead letters') break;
    }
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 2, name: 'Dead letters' }).waitFor({ timeout: SHOWN });
  });

  it('has no serious accessibility violation on any view, at 1280 px and on a phone', async () => {
    await signIn();
    await mailboxRow('planner').waitFor({ timeout: SHOWN });
    const found: string[] = [];
    for (const viewport of [DESKTOP, PHONE]) {
      await page.setViewportSize(viewport);
      for (const section of ['Mailboxes', 'Overview', 'Dead letters', 'Topics', 'Compose']) {
        await go(section);
        await page.waitForLoadState('networkidle');
        found.push(...(await seriousViolations(page)).map((line) => `${section}: ${line}`));
        // Nothing wider than the screen: tables scroll inside their own region.
        const overflow = await page.evaluate<number>(
          'document.documentElement.scrollWidth - window.innerWidth',
        );
        expect({ section, viewport: viewport.width, overflow }).toEqual({
          section,
          viewport: viewport.width,
          overflow: 0,
        });
      }
    }
    await go('Mailboxes');
    await mailboxRow('planner').waitFor({ timeout: SHOWN });
    await shoot('phone');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor({ timeout: SHOWN });
    found.push(...(await seriousViolations(page)).map((line) => `Sign in: ${line}`));
    expect(found).toEqual([]);
  }, 120_000);

  // Last but one: its 60 mailboxes would push the others off the first page.
  it('holds one page of a long list in the page, and filters and pages on the server', async () => {
    const many = Array.from({ length: 60 }, (_, i) => `bulk-${String(i).padStart(2, '0')}`);
    await register(...many);
    await signIn();
    await mailboxRow('auditor').waitFor({ timeout: SHOWN });
    const rows = page.getByRole('table', { name: 'Mailboxes' }).locator('tbody tr');
    expect(await rows.count()).toBe(50);
    const { mailboxPage } = await admin<{ mailboxPage: { total: number } }>(
      '{ mailboxPage { total } }',
    );
    const total = mailboxPage.total;
    expect(total).toBeGreaterThan(60);
    await page.getByText(`1–50 of ${total}`).waitFor({ timeout: SHOWN });

    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText(`51–${total} of ${total}`).waitFor({ timeout: SHOWN });
    expect(await rows.count()).toBe(total - 50);

    await page.getByLabel('Filter by name').fill('BULK-5');
    await page.getByText('1–10 of 10').waitFor({ timeout: SHOWN });
    expect(await rows.count()).toBe(10);
    expect(await mailboxRow('bulk-59').count()).toBe(1);
  });

  it('loaded everything from the service itself, with no policy violation or script error', () => {
    const origin = new URL(service.baseUrl);
    const foreign = requested.filter((url) => {
      const parsed = new URL(url);
      return parsed.host !== origin.host && !['data:', 'blob:'].includes(parsed.protocol);
    });
    expect(requested.length).toBeGreaterThan(0);
    expect(foreign).toEqual([]);
    // Refused sign-ins log their 401 and 403 responses; nothing else may.
    const unexpected = pageErrors.filter(
      (text) => !/status of 40[13]/.test(text) && !/Failed to load resource/.test(text),
    );
    expect(unexpected).toEqual([]);
    expect(pageErrors.filter((text) => /Content Security Policy/i.test(text))).toEqual([]);
  });
});
