/**
 * Whether a request's `Origin` may reach the MCP endpoint or open a GraphQL WebSocket:
 * absent (clients outside a browser send none), or a URL whose host name is allowed
 * (MCP_ALLOWED_ORIGINS). A browser page on another site is refused, which stops DNS
 * rebinding from turning a local page into a caller.
 */
export function originAllowed(origin: string | undefined, allowed: string[] | '*'): boolean {
  if (origin === undefined) return true;
  if (allowed === '*') return true;
  let host: string;
  try {
    host = unbracketed(new URL(origin).hostname.toLowerCase());
  } catch {
    return false;
  }
  return allowed.some((entry) => unbracketed(entry) === host);
}

/** An IPv6 host name without the brackets a URL puts around it (the list may have either). */
function unbracketed(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Whether `origin` is the service's own: the page was served by the host and port the
 * request names in its `Host` header (the console's own WebSocket, wherever it is served).
 */
export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined || host === undefined) return false;
  try {
    return new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}
