// The GraphQL explorer served at /console/graphiql/: GraphiQL 5 (doc explorer and history
// plugins included by default) against this service's /graphql, with every asset — Monaco's
// web workers included — bundled by Vite, so no CDN is reached at runtime.
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './explorer.css';

import { createGraphiQLFetcher, type Fetcher, type FetcherOpts } from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

/** Where the operator console keeps the admin token (sessionStorage). */
const TOKEN_KEY = 'mailbox-console-token';

const DEFAULT_QUERY = `# Mailbox GraphQL explorer. Ctrl-Enter runs.
{
  routerStatistics { messagesRouted messagesDelivered running }
}
`;

/** The console's admin token, read on every request so a later sign-in is picked up. */
function consoleToken(): string | null {
  try {
    const token = sessionStorage.getItem(TOKEN_KEY)?.trim();
    return token ? token : null;
  } catch {
    return null; // storage disabled
  }
}

/**
 * The headers for one request: those typed in GraphiQL's Headers tab, with names lower-cased
 * (HTTP ignores case; graphql-ws connectionParams do not, and the service reads
 * `connectionParams.authorization`), plus the console's token as `authorization` unless the
 * user gave one.
 */
function requestHeaders(typed: FetcherOpts['headers']): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(typed ?? {})) {
    if (value !== undefined && value !== null) {
      headers[name.toLowerCase()] = typeof value === 'string' ? value : JSON.stringify(value);
    }
  }
  const token = consoleToken();
  if (headers.authorization === undefined && token !== null) {
    headers.authorization = /^bearer\s/i.test(token) ? token : `Bearer ${token}`;
  }
  return headers;
}

// Queries and mutations go over HTTP POST with the headers; subscriptions over graphql-ws,
// where the toolkit passes the same headers as the connection's connectionParams.
const baseFetcher = createGraphiQLFetcher({
  url: `${location.origin}/graphql`,
  subscriptionUrl: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
});

const fetcher: Fetcher = (params, opts) =>
  baseFetcher(params, { ...opts, headers: requestHeaders(opts?.headers) });

const container = document.getElementById('graphiql');
if (container === null) throw new Error('#graphiql is missing from index.html');

createRoot(container).render(
  <StrictMode>
    {/* This tab's storage, not localStorage: the history keeps each run's headers, and a
        header may hold a token. */}
    <GraphiQL fetcher={fetcher} defaultQuery={DEFAULT_QUERY} storage={sessionStorage} />
  </StrictMode>,
);
