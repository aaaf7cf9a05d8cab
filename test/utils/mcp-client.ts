import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/** A tools/call result as the SDK client hands it over. */
export interface ToolResult {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

/** A message as the MCP tools show it (the fields each tool may leave out are optional). */
export interface AgentMessage {
  message_id: string;
  from: string;
  to: string;
  thread_id: string;
  in_reply_to: string | null;
  hop: number;
  body?: string;
  preview?: string;
  truncated?: boolean;
  read?: boolean;
  needs_ack: boolean;
  delivery_attempt?: number;
  verified?: boolean;
}

/** A refused call's error, as its structured result carries it, with the text beside. */
export interface ToolError {
  code?: string;
  field?: string;
  limit?: number;
  reason?: string;
  retry_after_s?: number;
  text: string;
}

/**
 * The official SDK client of the service's /mcp, with `token` (none: null) and an `Origin`
 * header when given, after listing the tools: as MCP clients do, the SDK then checks every
 * result's structuredContent against its tool's output schema, so a result that does not
 * match fails the call.
 */
export async function connectMcp(
  baseUrl: string,
  token: string | null,
  options: { name: string; origin?: string },
): Promise<Client> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.origin !== undefined) headers.origin = options.origin;
  const client = new Client({ name: options.name, version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), { requestInit: { headers } }),
  );
  await client.listTools();
  return client;
}

/** The error of a refused call, from its structured result (the client checked its schema). */
export function toolError(result: ToolResult): ToolError {
  const { error } = result.structuredContent as { error: Omit<ToolError, 'text'> };
  return { ...error, text: result.content[0]?.text ?? '' };
}
