// The console shell: sign-in, the header with its section navigation, and the current view.
import {
  type Dispatch,
  type SetStateAction,
  useCallback,
  useEffect,
  useRef,
  useState,
} from 'react';
import {
  type Api,
  type ConnectionState,
  clearToken,
  createApi,
  loadToken,
  storeToken,
} from './api';
import { ApiContext, useRoute } from './hooks';
import { type Route, routeKey } from './routes';
import { SignIn } from './SignIn';
import { Compose } from './views/Compose';
import { DeadLetters } from './views/DeadLetters';
import { MailboxView } from './views/MailboxView';
import { initialMailboxQuery, Mailboxes, type MailboxQuery } from './views/Mailboxes';
import { Overview } from './views/Overview';
import { ThreadView } from './views/ThreadView';
import { Topics } from './views/Topics';

export function App() {
  const [token, setToken] = useState<string | null>(() => loadToken());
  const [notice, setNotice] = useState<string | null>(null);

  const signOut = useCallback((reason?: string) => {
    clearToken();
    setNotice(reason ?? null);
    setToken(null);
  }, []);

  if (!token) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(value) => {
          storeToken(value);
          setNotice(null);
          setToken(value);
        }}
      />
    );
  }
  return <Console token={token} onSignOut={signOut} />;
}

const SECTIONS: { view: Route['view']; href: string; label: string }[] = [
  { view: 'overview', href: '#overview', label: 'Overview' },
  { view: 'mailboxes', href: '#mailboxes', label: 'Mailboxes' },
  { view: 'dead-letters', href: '#dead-letters', label: 'Dead letters' },
  { view: 'topics', href: '#topics', label: 'Topics' },
  { view: 'compose', href: '#compose', label: 'Compose' },
];

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  connected: 'Connected',
  closed: 'Disconnected',
};

function Console({ token, onSignOut }: { token: string; onSignOut: (reason?: string) => void }) {
  const [api, setApi] = useState<Api | null>(null);
  const [connection, setConnection] = useState<ConnectionState>('connecting');
  const onSignOutRef = useRef(onSignOut);
  useEffect(() => {
    onSignOutRef.current = onSignOut;
  });

  // The client lives as long as the signed-in console (created in an effect so that a
  // remount never uses a disposed client).
  useEffect(() => {
    let signedOut = false;
    const created = createApi(token, (reason) => {
      if (signedOut) return;
      signedOut = true;
      onSignOutRef.current(reason);
    });
    const stopListening = created.onConnectionState(setConnection);
    setApi(created);
    return () => {
      stopListening();
      created.dispose();
    };
  }, [token]);

  const route = useRoute();
  const [mailboxQuery, setMailboxQuery] = useState<MailboxQuery>(initialMailboxQuery);
  const current =
    route.view === 'mailbox' ? 'mailboxes' : route.view === 'thread' ? null : route.view;

  return (
    <>
      <header className="app-header">
        <div className="header-row">
          <h1>Mailbox console</h1>
          <span className="connection" aria-live="polite">
            {api ? CONNECTION_TEXT[connection] : ''}
          </span>
          <button type="button" onClick={() => onSignOut()}>
            Sign out
          </button>
        </div>
        <nav aria-label="Sections">
          <ul>
            {SECTIONS.map((section) => (
              <li key={section.view}>
                <a href={section.href} aria-current={current === section.view ? 'page' : undefined}>
                  {section.label}
                </a>
              </li>
            ))}
            <li>
              <a href="/console/graphiql">GraphQL explorer</a>
            </li>
          </ul>
        </nav>
      </header>
      {api && (
        <ApiContext.Provider value={api}>
          <View
            key={routeKey(route)}
            route={route}
            mailboxQuery={mailboxQuery}
            setMailboxQuery={setMailboxQuery}
          />
        </ApiContext.Provider>
      )}
    </>
  );
}

function View({
  route,
  mailboxQuery,
  setMailboxQuery,
}: {
  route: Route;
  mailboxQuery: MailboxQuery;
  setMailboxQuery: Dispatch<SetStateAction<MailboxQuery>>;
}) {
  switch (route.view) {
    case 'overview':
      return <Overview />;
    case 'mailboxes':
      return <Mailboxes query={mailboxQuery} setQuery={setMailboxQuery} />;
    case 'mailbox':
      return <MailboxView name={route.name} />;
    case 'thread':
      return <ThreadView id={route.id} />;
    case 'dead-letters':
      return <DeadLetters />;
    case 'topics':
      return <Topics />;
    case 'compose':
      return <Compose />;
  }
}
