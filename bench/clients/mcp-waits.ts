/**
 * i. Many concurrent waits: one SDK client per mailbox, each with one `wait_for_message`
 * in flight at once. Tells the runner when every client is connected and waits for its word
 * to start the waits (it reads the service's memory before), tells it when every wait call
 * is sent, waits while it reads the memory again, then checks that every wait is live: one
 * `send_message` to every mailbox (from one sender), and each wait must answer with exactly
 * the message sent to its mailbox.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { runAsChild } from '../lib/child-runtime';
import { padded } from '../lib/bodies';
import { forEachLimited } from '../lib/live-feed';
import {
  callTool,
  closeAll,
  connectMcp,
  errorText,
  readWait,
  sendAcknowledged,
  type McpAgent,
  type WaitAnswer,
} from './mcp-client';

export interface McpWaitsRequest {
  baseUrl: string;
  /** One waiting client each. */
  agents: McpAgent[];
  /** Sends the check messages. */
  sender: McpAgent;
  /** wait_for_message's timeout_s. */
  timeoutS: number;
}

export interface McpWaitsResult {
  waits: number;
  connectMs: number;
  /** Waits that had answered (or failed) before the check messages were sent. */
  endedBeforeCheck: number;
  /** Mailboxes whose check message send_message acknowledged. */
  acknowledged: number;
  refused: number;
  unanswered: number;
  /** Waits that answered with exactly the message sent to their mailbox. */
  deliveredOnce: number;
  /** Waits that answered "timeout", or not at all, although their message was acknowledged. */
  missing: number;
  /** Waits that answered with more than one message. */
  duplicates: number;
  /** Waits that answered with another mailbox's message. */
  misrouted: number;
  waitErrors: string[];
  sendErrors: string[];
  checkMs: number;
}

/** Check messages in flight at once. */
const SEND_CONCURRENCY = 16;

type Outcome = { answer: WaitAnswer } | { error: string };

runAsChild<McpWaitsRequest, McpWaitsResult>(async (request, parent) => {
  const { agents, timeoutS } = request;
  const clients: Client[] = new Array<Client>(agents.length);
  let sender: Client | null = null;
  const waitErrors: string[] = [];
  try {
    const connectStarted = Date.now();
    await forEachLimited(agents, 20, async (agent, index) => {
      clients[index] = await connectMcp(request.baseUrl, agent);
    });
    sender = await connectMcp(request.baseUrl, request.sender);
    const connectMs = Date.now() - connectStarted;
    parent.send({ type: 'connected' });
    await parent.next('start-waits');

    const outcomes: Array<Outcome | null> = agents.map(() => null);
    const calls = clients.map(async (client, index) => {
      try {
        const result = await callTool(
          client,
          'wait_for_message',
          { timeout_s: timeoutS },
          (timeoutS + 30) * 1000,
        );
        const answer = readWait(result);
        outcomes[index] = answer === null ? { error: `refused: ${errorText(result)}` } : { answer };
      } catch (error) {
        outcomes[index] = { error: (error as Error).message };
      }
    });
    parent.send({ type: 'waits-sent' });
    await parent.next('check');

    const checkStarted = Date.now();
    const endedBeforeCheck = outcomes.filter((outcome) => outcome !== null).length;
    const acknowledged = new Uint8Array(agents.length);
    let refused = 0;
    let unanswered = 0;
    const sendErrors: string[] = [];
    const from = sender;
    await forEachLimited(agents, SEND_CONCURRENCY, async (agent, index) => {
      try {
        const result = await callTool(
          from,
          'send_message',
          { to: agent.mailbox, body: padded(`w:${index}:`, 64) },
          30_000,
        );
        if (sendAcknowledged(result)) acknowledged[index] = 1;
        else {
          refused += 1;
          if (sendErrors.length < 5) sendErrors.push(errorText(result));
        }
      } catch (error) {
        unanswered += 1;
        if (sendErrors.length < 5) sendErrors.push((error as Error).message);
      }
    });
    await Promise.all(calls);
    const checkMs = Date.now() - checkStarted;

    let deliveredOnce = 0;
    let missing = 0;
    let duplicates = 0;
    let misrouted = 0;
    outcomes.forEach((outcome, index) => {
      if (outcome === null || 'error' in outcome) {
        if (waitErrors.length < 20) waitErrors.push(outcome?.error ?? 'no answer');
        if (acknowledged[index]) missing += 1;
        return;
      }
      const mine = outcome.answer.messages.filter(
        (message) => message.to === agents[index].mailbox && message.body.startsWith(`w:${index}:`),
      );
      if (mine.length < outcome.answer.messages.length) misrouted += 1;
      if (mine.length > 1) duplicates += 1;
      if (!acknowledged[index]) return;
      if (mine.length === 0) missing += 1;
      else if (mine.length === 1 && outcome.answer.messages.length === 1) deliveredOnce += 1;
    });
    let acknowledgedCount = 0;
    for (const flag of acknowledged) acknowledgedCount += flag;
    return {
      waits: agents.length,
      connectMs,
      endedBeforeCheck,
      acknowledged: acknowledgedCount,
      refused,
      unanswered,
      deliveredOnce,
      missing,
      duplicates,
      misrouted,
      waitErrors,
      sendErrors,
      checkMs,
    };
  } finally {
    await closeAll(sender === null ? clients.filter(Boolean) : [...clients, sender]);
  }
});
