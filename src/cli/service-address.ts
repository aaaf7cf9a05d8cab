/** Where the CLI reaches the service: GraphQL over HTTP, and graphql-ws for subscriptions. */
export interface ServiceAddress {
  /** http(s)://host:port/graphql */
  http: string;
  /** ws(s)://host:port/graphql */
  ws: string;
}

/**
 * The endpoints of a service URL given as `http://host:port` (a trailing `/graphql` is
 * accepted too); null when it is not an http(s) URL.
 */
export function serviceAddress(url: string): ServiceAddress | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return null;
  const path = parsed.pathname.replace(/\/+$/, '').replace(/\/graphql$/, '');
  const http = `${parsed.protocol}//${parsed.host}${path}/graphql`;
  const ws = `${parsed.protocol === 'https:' ? 'wss:' : 'ws:'}//${parsed.host}${path}/graphql`;
  return { http, ws };
}
