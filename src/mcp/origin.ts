/**
 * Whether a request's `Origin` may reach the MCP endpoint: absent (clients outside a browser
 * send none), or a URL whose host name is allowed. A browser page on another site is refused,
 * which stops DNS rebinding from turning a local page into a caller.
 */
export function originAllowed(origin: string | undefined, allowed: string[] | '*'): boolean {
  if (origin === undefined) return true;
  if (allowed === '*') return true;
  let host: string;
  try {
    // An IPv6 host name comes in brackets; the list holds it without.
    host = new URL(origin).hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  } catch {
    return false;
  }
  return allowed.includes(host);
}
