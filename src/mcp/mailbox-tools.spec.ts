import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport, McpServer } from '@modelcontextprotocol/server';
import type { MailboxToolsService } from './mailbox-tools.service';
import { registerMailboxTools, TOOL_NAMES, type ToolCall } from './mailbox-tools';

/** The tools a server was given, as a client lists them over an in-memory transport. */
async function registered(
  only: ReadonlySet<string> | null,
  searchEnabled = true,
): Promise<string[]> {
  const server = new McpServer({ name: 'test', version: '1.0.0' });
  const call: ToolCall = {
    caller: { kind: 'mailbox', mailbox: 'worker', tokenDigest: 'digest' },
    signal: new AbortController().signal,
    charge: () => Promise.resolve(),
  };
  // No tool runs here: registering reads none of the service.
  registerMailboxTools(server, { searchEnabled } as MailboxToolsService, call, only);
  const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'test', version: '1.0.0' });
  await server.connect(serverSide);
  await client.connect(clientSide);
  try {
    return (await client.listTools()).tools.map((tool) => tool.name);
  } finally {
    await client.close();
    await server.close();
  }
}

describe('registerMailboxTools', () => {
  it('registers every tool without a list', async () => {
    expect(TOOL_NAMES).toHaveLength(11);
    expect(await registered(null)).toEqual(TOOL_NAMES);
  });

  it('offers search_messages only with SEARCH_ENABLED', async () => {
    expect(await registered(null, false)).toEqual(
      TOOL_NAMES.filter((name) => name !== 'search_messages'),
    );
    expect(await registered(new Set(['search_messages']), false)).toEqual([]);
  });

  it('registers only the tools a request calls', async () => {
    expect(await registered(new Set(['send_message']))).toEqual(['send_message']);
    expect((await registered(new Set(['wait_for_message', 'whoami']))).sort()).toEqual([
      'wait_for_message',
      'whoami',
    ]);
  });

  it('registers every tool when a call names no such tool, for the SDK to refuse it', async () => {
    expect(await registered(new Set(['send_message', 'no_such_tool']))).toEqual(TOOL_NAMES);
  });
});
