import { randomUUID } from 'node:crypto';

/**
 * What a client may send as `x-request-id`: short, and nothing that could break out of a
 * header or make two ids look alike in a log.
 */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * A request id a client sent, if it is a sane one; else a new one. The one rule for HTTP
 * requests (Fastify's `genReqId`) and WebSocket connections (their upgrade request).
 */
export function requestId(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given !== undefined && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}
