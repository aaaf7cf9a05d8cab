/**
 * The MCP side of scenario i, shared by its load generators: the official SDK client
 * (`Client` over `StreamableHTTPClientTransport`) connected to the service's /mcp with a
 * mailbox token, and readers for the answers of `send_message` and `wait_for_message`. The
 * server is stateless, so each tool call is one HTTP POST of its own.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

/** A mailbox and the token registerMailbox gave it: MCP knows the caller from the token alone. */
export interface McpAgent {
  mailbox: string;
  token: string;
}

export interface ToolResult {
  isError?: boolean;
  content?: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
}

/** One SDK client of `baseUrl`/mcp for `agent`, initialised (the connect handshake done). */
export async function connectMcp(baseUrl: string, agent: McpAgent): Promise<Client> {
  const client = new Client({ name: 'mailbox-bench', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${baseUrl}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${agent.token}` } },
  });
  await client.connect(transport);
  return client;
}

export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
  timeoutMs: number,
): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, {
    timeout: timeoutMs,
  })) as ToolResult;
}

/** The text of a refused call, for the report. */
export function errorText(result: ToolResult): string {
  return (result.content?.[0]?.text ?? JSON.stringify(result)).slice(0, 200);
}

/** Whether a send_message answer acknowledges the message (an id, a status other than FAILED). */
export function sendAcknowledged(result: ToolResult): boolean {
  const sent = result.structuredContent;
  return (
    !result.isError &&
    typeof sent?.message_id === 'string' &&
    sent.message_id !== '' &&
    sent.status !== 'FAILED'
  );
}

export interface WaitAnswer {
  status: 'messages' | 'timeout';
  /** The bodies of the messages the wait returned, with the mailbox each was sent to. */
  messages: Array<{ to: string; body: string }>;
}

/** A wait_for_message answer, or null when the call was refused (a tool error). */
export function readWait(result: ToolResult): WaitAnswer | null {
  if (result.isError || !result.structuredContent) return null;
  const answer = result.structuredContent as {
    status?: string;
    messages?: Array<{ to?: string; body?: string }>;
  };
  return {
    status: answer.status === 'messages' ? 'messages' : 'timeout',
    messages: (answer.messages ?? []).map((message) => ({
      to: message.to ?? '',
      body: message.body ?? '',
    })),
  };
}

/** Closes clients, ignoring the errors of calls they still had in flight. */
export async function closeAll(clients: Client[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
}
