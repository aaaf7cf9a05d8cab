import { connect, type Socket } from 'node:net';
import { BENCH_ADMIN_TOKEN } from './admin';

export interface HttpResponse {
  status: number;
  body: Buffer;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const LINE_END = Buffer.from('\r\n');

/**
 * A complete HTTP/1.1 POST with a JSON body, ready to write on a keep-alive connection, sent
 * with `token` (the admin's unless given).
 */
export function buildPost(
  host: string,
  port: number,
  path: string,
  json: string,
  token: string = BENCH_ADMIN_TOKEN,
): Buffer {
  const body = Buffer.from(json);
  const head =
    `POST ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nContent-Type: application/json\r\n` +
    `Accept: application/json\r\nAuthorization: Bearer ${token}\r\n` +
    `Connection: keep-alive\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), body]);
}

interface Pending {
  resolve: (response: HttpResponse) => void;
  reject: (error: Error) => void;
}

/** Parses a chunked body from `start`; returns the body and where it ends, or null if incomplete. */
function parseChunked(buffer: Buffer, start: number): { body: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  let position = start;
  for (;;) {
    const lineEnd = buffer.indexOf(LINE_END, position);
    if (lineEnd < 0) return null;
    const size = parseInt(buffer.toString('latin1', position, lineEnd), 16);
    if (Number.isNaN(size)) throw new Error('malformed chunked body');
    if (size === 0) {
      // No trailers expected: the last chunk is followed by an empty line.
      const end = buffer.indexOf(HEADER_END, lineEnd);
      if (end !== lineEnd) return null;
      return { body: Buffer.concat(parts), end: end + 4 };
    }
    const dataStart = lineEnd + 2;
    if (buffer.length < dataStart + size + 2) return null;
    parts.push(buffer.subarray(dataStart, dataStart + size));
    position = dataStart + size + 2;
  }
}

/**
 * One keep-alive HTTP/1.1 connection with at most one request in flight: a small, allocation-
 * light client so that the load generator costs the machine as little CPU as possible.
 * Reconnects on the next request after the server closed the connection.
 */
export class HttpConnection {
  private socket: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private pending: Pending | null = null;
  private buffer: Buffer = Buffer.alloc(0);

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  async request(raw: Buffer): Promise<HttpResponse> {
    if (this.pending) throw new Error('a request is already in flight on this connection');
    const socket = await this.open();
    return new Promise<HttpResponse>((resolve, reject) => {
      this.pending = { resolve, reject };
      socket.write(raw);
    });
  }

  /**
   * Like `request`, but gives up after `timeoutMs`: the connection is closed (its late answer
   * can no longer be told apart) and the promise rejects with 'timeout'.
   */
  async requestWithin(raw: Buffer, timeoutMs: number): Promise<HttpResponse> {
    const answer = this.request(raw);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        answer.catch(() => undefined); // rejected by the close below
        this.close();
        reject(new Error('timeout'));
      }, timeoutMs);
    });
    try {
      return await Promise.race([answer, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }

  private open(): Promise<Socket> {
    if (this.socket && !this.socket.destroyed) return Promise.resolve(this.socket);
    this.connecting ??= new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port, noDelay: true });
      socket.once('connect', () => {
        this.socket = socket;
        this.connecting = null;
        this.buffer = Buffer.alloc(0);
        resolve(socket);
      });
      socket.once('error', (error) => {
        this.connecting = null;
        reject(error);
      });
      socket.on('data', (chunk: Buffer) => this.receive(chunk));
      socket.on('error', () => undefined);
      socket.once('close', () => {
        if (this.socket === socket) this.socket = null;
        const pending = this.pending;
        this.pending = null;
        pending?.reject(new Error('connection closed before the response'));
      });
    });
    return this.connecting;
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const pending = this.pending;
    if (!pending) return;
    const headerEnd = this.buffer.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const head = this.buffer.toString('latin1', 0, headerEnd);
    const status = Number(head.slice(9, 12));
    const bodyStart = headerEnd + 4;
    let body: Buffer;
    let end: number;
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (length) {
      end = bodyStart + Number(length[1]);
      if (this.buffer.length < end) return;
      body = this.buffer.subarray(bodyStart, end);
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      let parsed: { body: Buffer; end: number } | null;
      try {
        parsed = parseChunked(this.buffer, bodyStart);
      } catch (error) {
        this.pending = null;
        this.close();
        pending.reject(error as Error);
        return;
      }
      if (!parsed) return;
      ({ body, end } = parsed);
    } else {
      end = bodyStart;
      body = Buffer.alloc(0);
    }
    this.buffer = end === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(end);
    this.pending = null;
    pending.resolve({ status, body });
  }
}
