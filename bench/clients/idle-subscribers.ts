/**
 * f. Many idle subscriptions: `perSocket` mailboxMessages subscriptions on each graphql-ws
 * WebSocket, one mailbox each. Tells the runner when every subscribe is sent, waits while it
 * reads the service's memory, then checks that every subscription is live: one message to
 * every mailbox (sendMessages, 100 a request), each must arrive once at its subscriber.
 */
import type { Client } from 'graphql-ws';
import { runAsChild } from '../lib/child-runtime';
import { padded } from '../lib/bodies';
import { directInput, readSendResponse, sendMessagesBody } from '../lib/graphql';
import { buildPost, HttpConnection } from '../lib/http-connection';
import { connectClient, forEachLimited, subscribeFeed } from '../lib/live-feed';
import { sleep } from '../lib/stats';

export interface IdleSubscribersRequest {
  host: string;
  port: number;
  wsUrl: string;
  mailboxes: string[];
  perSocket: number;
}

export interface IdleSubscribersResult {
  sockets: number;
  subscriptions: number;
  /** Mailboxes whose one check message was acknowledged. */
  acknowledged: number;
  deliveredOnce: number;
  missing: number;
  duplicates: number;
  misrouted: number;
  subscriptionErrors: string[];
  sendErrors: string[];
  checkMs: number;
}

const BATCH = 100;

runAsChild<IdleSubscribersRequest, IdleSubscribersResult>(async (request, parent) => {
  const { mailboxes, perSocket } = request;
  const counts = new Uint8Array(mailboxes.length);
  const errors: string[] = [];
  let misrouted = 0;
  let closing = false;
  const fail = (error: string): void => {
    if (!closing && errors.length < 20) errors.push(error);
  };
  const groups: number[][] = [];
  for (let first = 0; first < mailboxes.length; first += perSocket) {
    groups.push(
      Array.from({ length: Math.min(perSocket, mailboxes.length - first) }, (_, i) => first + i),
    );
  }
  const clients: Client[] = [];
  await forEachLimited(groups, 10, async (group) => {
    const client = await connectClient(request.wsUrl, fail);
    clients.push(client);
    for (const index of group) {
      subscribeFeed(
        client,
        mailboxes[index],
        (content) => {
          // Content: "f:<mailbox index>:..."
          const target = Number(content.slice(2, content.indexOf(':', 2)));
          if (target !== index) misrouted += 1;
          else if (counts[index] < 255) counts[index] += 1;
        },
        fail,
      );
    }
  });
  parent.send({ type: 'subscribed', sockets: clients.length, errors });
  await parent.next('check');

  const started = Date.now();
  const acknowledged = new Uint8Array(mailboxes.length);
  const sendErrors: string[] = [];
  const batches: number[][] = [];
  for (let first = 0; first < mailboxes.length; first += BATCH) {
    batches.push(
      Array.from({ length: Math.min(BATCH, mailboxes.length - first) }, (_, i) => first + i),
    );
  }
  const connections = Array.from(
    { length: 4 },
    () => new HttpConnection(request.host, request.port),
  );
  await Promise.all(
    connections.map(async (connection, lane) => {
      for (let b = lane; b < batches.length; b += connections.length) {
        const body = sendMessagesBody(
          batches[b].map((index) => directInput(mailboxes[index], padded(`f:${index}:`, 64))),
        );
        const response = await connection.requestWithin(
          buildPost(request.host, request.port, '/graphql', body),
          30_000,
        );
        const outcome = readSendResponse(response.status, response.body, batches[b].length);
        if (outcome.error && sendErrors.length < 5) sendErrors.push(outcome.error);
        // A batch is all or nothing here: a partial failure leaves its entries unacknowledged.
        if (outcome.acknowledged === batches[b].length) {
          for (const index of batches[b]) acknowledged[index] = 1;
        }
      }
    }),
  );
  let expected = 0;
  for (const flag of acknowledged) expected += flag;
  const delivered = (): number => counts.reduce((sum, count) => sum + Math.min(count, 1), 0);
  const deadline = Date.now() + 30_000;
  while (delivered() < expected && Date.now() < deadline) await sleep(50);
  await sleep(250); // a duplicate would show up now
  const checkMs = Date.now() - started;

  let deliveredOnce = 0;
  let missing = 0;
  let duplicates = 0;
  mailboxes.forEach((_, index) => {
    if (counts[index] > 1) duplicates += 1;
    if (!acknowledged[index]) return;
    if (counts[index] === 0) missing += 1;
    else if (counts[index] === 1) deliveredOnce += 1;
  });
  closing = true;
  for (const connection of connections) connection.close();
  await Promise.all(
    clients.map(async (client) => {
      await client.dispose();
    }),
  );
  return {
    sockets: clients.length,
    subscriptions: mailboxes.length,
    acknowledged: expected,
    deliveredOnce,
    missing,
    duplicates,
    misrouted,
    subscriptionErrors: errors,
    sendErrors,
    checkMs,
  };
});
