import { PROTOCOL_VERSION_META_KEY } from '@modelcontextprotocol/server';
import { answersAsStream, isModernRequest } from './mcp-era';

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
