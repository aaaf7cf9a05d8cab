import { classifyInboundRequest } from '@modelcontextprotocol/server';
import type { IncomingHttpHeaders } from 'node:http';

/** A header's value as the fetch API's `Headers.get` gives it: repeated ones joined. */
function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Whether a request belongs to the 2026-07-28 revision (a per-request `_meta` envelope, or a
 * modern `MCP-Protocol-Version`), as the SDK's own entry routes it: its classifier, on the
 * parsed body. Everything else, the `initialize` handshake included, is 2025-era traffic. A
 * POST without a JSON body is left to the 2025 leg, which answers it with a parse error, as
 * the SDK's entry does.
 */
export function isModernRequest(
  method: string,
  headers: IncomingHttpHeaders,
  body: unknown,
): boolean {
  if (method === 'POST' && body === undefined) return false;
  return (
    classifyInboundRequest({
      httpMethod: method,
      protocolVersionHeader: header(headers, 'mcp-protocol-version'),
      mcpMethodHeader: header(headers, 'mcp-method'),
      mcpNameHeader: header(headers, 'mcp-name'),
      ...(method === 'POST' ? { body } : {}),
    }).kind !== 'legacy'
  );
}

/** A JSON-RPC message's method and params, as far as a request's body holds them. */
interface RpcMessage {
  method: unknown;
  /** Null when the message has none, or they are not an object. */
  params: Record<string, unknown> | null;
}

/** The messages of a body (one, or a batch): null for an entry that is not an object. */
export function rpcMessages(body: unknown): Array<RpcMessage | null> {
  const messages: unknown[] = Array.isArray(body) ? body : [body];
  return messages.map((message) => {
    if (message === null || typeof message !== 'object') return null;
    const { method, params } = message as { method?: unknown; params?: unknown };
    return {
      method,
      params:
        params !== null && typeof params === 'object' ? (params as RpcMessage['params']) : null,
    };
  });
}

/**
 * Whether a 2025-era request's answer should be an event stream rather than one JSON body: a
 * request asks for progress (notifications sent before the result), or calls a tool in
 * `longRunning`. A long call streams so that its response headers go out at once: a client
 * that gives up on it then closes the connection, where some keep it open while no response
 * has begun, and the service would not see the call was abandoned.
 */
export function answersAsStream(body: unknown, longRunning: ReadonlySet<string>): boolean {
  return rpcMessages(body).some((message) => {
    const params = message?.params;
    if (!params) return false;
    const { name, _meta: meta } = params;
    if (message.method === 'tools/call' && typeof name === 'string' && longRunning.has(name)) {
      return true;
    }
    return (
      meta !== null &&
      typeof meta === 'object' &&
      (meta as { progressToken?: unknown }).progressToken !== undefined
    );
  });
}

/**
 * The tools a request calls, when calling tools is all it does (a `tools/call`, or a batch of
 * them, each naming its tool): its server needs no others. Null for anything else (the
 * handshake, `tools/list`, notifications, a malformed message), which gets every tool.
 */
export function calledTools(body: unknown): ReadonlySet<string> | null {
  const names = new Set<string>();
  for (const message of rpcMessages(body)) {
    const name = message?.method === 'tools/call' ? message.params?.name : undefined;
    if (typeof name !== 'string') return null;
    names.add(name);
  }
  return names.size > 0 ? names : null;
}
