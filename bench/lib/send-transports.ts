/**
 * What carries the service live load's sends (clients/live-load.ts): sendMessage over
 * keep-alive HTTP connections, one request at a time on each, or as graphql-ws mutations
 * over a few WebSockets of their own (apart from the subscribers'), several in flight on
 * each. Either way the load sees the same lanes, one send at a time each, so the open loop
 * (lib/open-loop.ts) paces and bounds both alike: only what carries a send differs.
 */
import type { Client } from 'graphql-ws';
import type { Sending } from '../clients/live-load';
import { readSendResponse, sendMessageBody, type SendInput, type SendOutcome } from './graphql';
import { buildPost, HttpConnection, type HttpResponse } from './http-connection';
import {
  closeSockets,
  mutate,
  openSockets,
  readMutationResult,
  sendMessageOperation,
  type MutationResult,
  type Operation,
} from './ws-mutations';

/** HTTP (d, e, i and the service's line in w3, w4), or graphql-ws on `sockets` WebSockets. */
export type SendTransportSpec = { kind: 'http' } | { kind: 'graphql-ws'; sockets: number };

/** The sends awaiting their acknowledgement at most: HTTP connections, or sends in flight. */
export function sendingLanes(sending: Sending): number {
  return sending.kind === 'paced' ? sending.connections : sending.inFlight;
}

/**
 * A transport's sends, on lanes 0 to `lanes` - 1. A send's encoding (before its clock
 * starts) and the reading of its answer (after its time is taken) stay out of `request`, as
 * the HTTP load always kept them, so that both transports are timed from the same point.
 */
export interface SendTransport<P, A> {
  readonly lanes: number;
  /** Connects what must be connected before the first send. */
  open(): Promise<void>;
  encode(input: SendInput): P;
  request(lane: number, payload: P, timeoutMs: number): Promise<A>;
  read(answer: A): SendOutcome;
  close(): Promise<void>;
}

/** A keep-alive HTTP/1.1 connection per lane (it connects on its first request). */
export class HttpSends implements SendTransport<Buffer, HttpResponse> {
  private readonly pool: HttpConnection[];

  constructor(
    private readonly host: string,
    private readonly port: number,
    readonly lanes: number,
  ) {
    this.pool = Array.from({ length: lanes }, () => new HttpConnection(host, port));
  }

  open(): Promise<void> {
    return Promise.resolve();
  }

  encode(input: SendInput): Buffer {
    return buildPost(this.host, this.port, '/graphql', sendMessageBody(input));
  }

  request(lane: number, raw: Buffer, timeoutMs: number): Promise<HttpResponse> {
    return this.pool[lane].requestWithin(raw, timeoutMs);
  }

  read(response: HttpResponse): SendOutcome {
    return readSendResponse(response.status, response.body, 1);
  }

  close(): Promise<void> {
    for (const connection of this.pool) connection.close();
    return Promise.resolve();
  }
}

/**
 * graphql-ws mutations, lane i on socket i mod `sockets`, so that the sends in flight spread
 * evenly over the sockets (graphql-ws multiplexes operations on a socket, HTTP/1.1 does not).
 */
export class WebSocketSends implements SendTransport<Operation, MutationResult> {
  private clients: Client[] = [];

  constructor(
    private readonly wsUrl: string,
    private readonly sockets: number,
    readonly lanes: number,
  ) {}

  async open(): Promise<void> {
    this.clients = await openSockets(this.wsUrl, this.sockets);
  }

  encode(input: SendInput): Operation {
    return sendMessageOperation(input);
  }

  request(lane: number, operation: Operation, timeoutMs: number): Promise<MutationResult> {
    return mutate(this.clients[lane % this.clients.length], operation, timeoutMs);
  }

  read(result: MutationResult): SendOutcome {
    return readMutationResult(result, 1);
  }

  close(): Promise<void> {
    return closeSockets(this.clients);
  }
}
