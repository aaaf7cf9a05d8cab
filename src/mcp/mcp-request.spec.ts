import { PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import { answersAsStream, calledTools, isModernRequest } from './mcp-request';

const LONG = new Set(['wait_for_message']);

function toolCall(name: string, meta?: object): object {
  return {
    jsonrpc: '2.0',
    id: 1,
    method: 'tools/call',
    params: { name, arguments: {}, ...(meta ? { _meta: meta } : {}) },
  };
}

describe('isModernRequest', () => {
  it('leaves 2025-era traffic to the 2025 leg', () => {
    const initialize = {
      jsonrpc: '2.0',
      id: 0,
      method: 'initialize',
      params: {
        protocolVersion: '2025-06-18',
        capabilities: {},
        clientInfo: { name: 'c', version: '1' },
      },
    };
    expect(isModernRequest('POST', {}, initialize)).toBe(false);
    expect(
      isModernRequest('POST', { 'mcp-protocol-version': '2025-06-18' }, toolCall('whoami')),
    ).toBe(false);
    expect(isModernRequest('GET', {}, undefined)).toBe(false);
    expect(isModernRequest('DELETE', {}, undefined)).toBe(false);
    // No JSON body: the 2025 leg answers the parse error, as the SDK's own entry does.
    expect(isModernRequest('POST', {}, undefined)).toBe(false);
  });

  it('sends a request that claims the per-request envelope to the 2026-07-28 leg', () => {
    // The SDK's modern handler answers it, a malformed or unsupported claim included.
    const claimed = toolCall('whoami', { [PROTOCOL_VERSION_META_KEY]: '2026-07-28' });
    expect(isModernRequest('POST', {}, claimed)).toBe(true);
    const headers = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call' };
    expect(isModernRequest('POST', headers, claimed)).toBe(true);
  });

  it('sends a modern version header without its envelope to the 2026-07-28 leg, which refuses it', () => {
    expect(
      isModernRequest('POST', { 'mcp-protocol-version': '2026-07-28' }, toolCall('whoami')),
    ).toBe(true);
  });
});

describe('answersAsStream', () => {
  it('answers a short call as JSON', () => {
    expect(answersAsStream(toolCall('whoami'), LONG)).toBe(false);
    expect(answersAsStream([toolCall('whoami'), toolCall('check_inbox')], LONG)).toBe(false);
    expect(answersAsStream({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, LONG)).toBe(false);
  });

  it('streams a call to a long-running tool, alone or in a batch', () => {
    expect(answersAsStream(toolCall('wait_for_message'), LONG)).toBe(true);
    expect(answersAsStream([toolCall('whoami'), toolCall('wait_for_message')], LONG)).toBe(true);
  });

  it('streams a request that asks for progress', () => {
    expect(answersAsStream(toolCall('whoami', { progressToken: 7 }), LONG)).toBe(true);
    expect(answersAsStream(toolCall('whoami', { progressToken: 'p' }), LONG)).toBe(true);
    expect(answersAsStream(toolCall('whoami', {}), LONG)).toBe(false);
  });

  it('reads anything else as a short call', () => {
    for (const body of [
      null,
      'text',
      42,
      [],
      [null],
      { params: null },
      { params: { _meta: null } },
    ]) {
      expect(answersAsStream(body, LONG)).toBe(false);
    }
  });
});

describe('calledTools', () => {
  it('names the tools a request calls when it does nothing else', () => {
    expect(calledTools(toolCall('send_message'))).toEqual(new Set(['send_message']));
    expect(calledTools([toolCall('whoami'), toolCall('check_inbox'), toolCall('whoami')])).toEqual(
      new Set(['whoami', 'check_inbox']),
    );
    // An unknown name is passed on; registerMailboxTools then registers every tool.
    expect(calledTools(toolCall('no_such_tool'))).toEqual(new Set(['no_such_tool']));
  });

  it('asks for every tool for anything else', () => {
    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list' };
    const initialized = { jsonrpc: '2.0', method: 'notifications/initialized' };
    for (const body of [
      list,
      initialized,
      [toolCall('whoami'), list],
      [],
      undefined,
      null,
      'text',
      { method: 'tools/call' },
      { method: 'tools/call', params: { name: 42 } },
    ]) {
      expect(calledTools(body)).toBeNull();
    }
  });
});
