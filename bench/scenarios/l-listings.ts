/**
 * l. Listings: what listing a mailbox of large messages costs when the listing shows no more
 * of each body than a preview, or none of it. The service in its own process, on a flushed
 * Redis, with one mailbox holding 100 messages of 256 KiB. Against the same page with every
 * body (`content`), one request at a time:
 * - a GraphQL page of the 100 that selects envelope fields only, which reads no bodies;
 * - the same with each body's `preview`, for which Redis sends 640 bytes of each;
 * - MCP `check_inbox` of the 100 (the official SDK client), which reads 640 bytes of each.
 */
import { callTool, connectMcp, errorText } from '../clients/mcp-client';
import type { Scenario } from '../lib/context';
import { BENCH_SENDER, graphqlOk, registerMailboxes } from '../lib/graphql';
import { figure, type Check, type ScenarioOutcome } from '../lib/report';
import { timedCalls, type LatencyRecorder } from '../lib/stats';

const ID = 'l';
const MAILBOX = 'bench-l';
const MESSAGES = 100;
const BODY_BYTES = 256 * 1024;
const REQUESTS = 30;
const PAGE = (fields: string) =>
  `{ mailbox(name: "${MAILBOX}") { messages(first: ${MESSAGES}) { nodes { ${fields} } } } }`;
const ENVELOPES = PAGE('id sender subject createdAt');
const PREVIEWS = PAGE('id sender subject createdAt preview');
const WHOLE = PAGE('id sender subject createdAt content');
const SEND_MANY = `mutation Send($inputs: [SendMessageInput!]!) { sendMessages(inputs: $inputs) { status } }`;

interface PageReply {
  mailbox: { messages: { nodes: Array<{ id: string; content?: string; preview?: string }> } };
}

interface InboxReply {
  messages: Array<{ preview?: string; truncated?: boolean }>;
  next_cursor: string | null;
}

/** One call to warm up, then `requests` timed ones (timedCalls). */
async function timed<T>(
  requests: number,
  call: () => Promise<T>,
): Promise<{ latency: LatencyRecorder; last: T }> {
  const first = await call();
  const { latency, last } = await timedCalls(requests, call);
  return { latency, last: last ?? first };
}

export const listings: Scenario = {
  id: ID,
  name: 'listings',
  async run(context): Promise<ScenarioOutcome> {
    await context.redis.client.flushall();
    const service = await context.startService();
    try {
      await registerMailboxes(service.baseUrl, [BENCH_SENDER]);
      const { registerMailbox } = await graphqlOk<{ registerMailbox: { token: string } }>(
        service.baseUrl,
        `mutation { registerMailbox(name: "${MAILBOX}") { token } }`,
      );
      context.log(`sending ${MESSAGES} messages of ${BODY_BYTES / 1024} KiB`);
      for (let index = 0; index < MESSAGES; index += 10) {
        await graphqlOk(service.baseUrl, SEND_MANY, {
          inputs: Array.from({ length: 10 }, (_, offset) => ({
            sender: BENCH_SENDER,
            mode: 'DIRECT',
            target: MAILBOX,
            content: `${index + offset} `.padEnd(BODY_BYTES, 'x'),
          })),
        });
      }

      context.log(`baseline: the page with every body, ${REQUESTS} requests`);
      const whole = await timed(REQUESTS, () => graphqlOk<PageReply>(service.baseUrl, WHOLE));
      context.log(`the page of envelopes, ${REQUESTS} requests`);
      const envelopes = await timed(REQUESTS, () =>
        graphqlOk<PageReply>(service.baseUrl, ENVELOPES),
      );
      context.log(`the page of previews, ${REQUESTS} requests`);
      const previews = await timed(REQUESTS, () => graphqlOk<PageReply>(service.baseUrl, PREVIEWS));
      context.log(`MCP check_inbox of the ${MESSAGES}, ${REQUESTS} calls`);
      const agent = await connectMcp(service.baseUrl, {
        mailbox: MAILBOX,
        token: registerMailbox.token,
      });
      let inbox: { latency: LatencyRecorder; last: InboxReply };
      try {
        inbox = await timed(REQUESTS, async () => {
          const result = await callTool(
            agent,
            'check_inbox',
            { unread_only: false, limit: MESSAGES },
            30_000,
          );
          if (result.isError) throw new Error(`check_inbox: ${errorText(result)}`);
          return result.structuredContent as unknown as InboxReply;
        });
      } finally {
        await agent.close();
      }

      const wholeNodes = whole.last.mailbox.messages.nodes;
      const envelopeNodes = envelopes.last.mailbox.messages.nodes;
      const previewNodes = previews.last.mailbox.messages.nodes;
      const checks: Check[] = [
        {
          scenario: ID,
          name: 'the page of envelopes lists every message',
          ok:
            envelopeNodes.length === MESSAGES &&
            envelopeNodes.map((node) => node.id).join() ===
              wholeNodes.map((node) => node.id).join(),
          detail: `${envelopeNodes.length} envelopes, ${wholeNodes.length} whole`,
        },
        {
          scenario: ID,
          name: 'the page of previews lists every message, each the start of its body',
          ok:
            previewNodes.length === MESSAGES &&
            previewNodes.every(
              (node, index) =>
                node.preview === wholeNodes[index].content?.slice(0, 160) &&
                node.preview?.length === 160,
            ),
          detail: `${previewNodes.length} previews`,
        },
        {
          scenario: ID,
          name: 'check_inbox lists every message in one call, as previews',
          ok:
            inbox.last.messages.length === MESSAGES &&
            inbox.last.next_cursor === null &&
            inbox.last.messages.every(
              (message) => message.truncated === true && message.preview?.length === 160,
            ),
          detail: `${inbox.last.messages.length} messages, next_cursor ${inbox.last.next_cursor}`,
        },
      ];
      const wholeLatency = whole.latency.summary();
      const envelopeLatency = envelopes.latency.summary();
      const previewLatency = previews.latency.summary();
      const inboxLatency = inbox.latency.summary();
      const baseline = { label: 'every body', value: wholeLatency.p50 };
      return {
        figures: [
          figure(
            ID,
            `page of ${MESSAGES} x ${BODY_BYTES / 1024} KiB, envelopes only, p50`,
            envelopeLatency.p50,
            'ms',
            baseline,
            null,
            { envelopes: envelopeLatency, whole: wholeLatency },
          ),
          figure(
            ID,
            'the same page with each preview, p50',
            previewLatency.p50,
            'ms',
            baseline,
            null,
            { previews: previewLatency },
          ),
          figure(
            ID,
            `MCP check_inbox of the ${MESSAGES}, p50`,
            inboxLatency.p50,
            'ms',
            baseline,
            null,
            { checkInbox: inboxLatency },
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
