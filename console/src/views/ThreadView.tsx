// A conversation, oldest first, 50 messages a page.
import { useEffect, useRef, useState } from 'react';
import { type ApiError, toApiError } from '../api';
import { type PageInfo, THREAD, type ThreadMessage } from '../documents';
import { useApi } from '../hooks';
import { mailboxHref } from '../routes';
import { ErrorAlert, Section, Time } from '../ui';

export function ThreadView({ id }: { id: string }) {
  const api = useApi();
  const [messages, setMessages] = useState<ThreadMessage[]>([]);
  const [pageInfo, setPageInfo] = useState<PageInfo | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const mounted = useRef(true);

  const load = (after: string | null) => {
    setLoading(true);
    setError(null);
    api.request(THREAD, { id, after }).then(
      (data) => {
        if (!mounted.current) return;
        setLoading(false);
        setPageInfo(data.thread.pageInfo);
        setMessages((previous) => {
          if (after === null) return data.thread.nodes;
          const known = new Set(previous.map((message) => message.id));
          return [...previous, ...data.thread.nodes.filter((node) => !known.has(node.id))];
        });
      },
      (failure: unknown) => {
        if (!mounted.current) return;
        setLoading(false);
        setError(toApiError(failure));
      },
    );
  };
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    mounted.current = true;
    loadRef.current(null);
    return () => {
      mounted.current = false;
    };
  }, []);

  return (
    <Section title={`Thread ${id}`}>
      <ErrorAlert error={error} title="Thread" />
      {loading && messages.length === 0 && <p className="muted">Loading…</p>}
      {!loading && !error && messages.length === 0 && (
        <p className="notice">No messages in this thread (or they have expired).</p>
      )}
      <ol className="thread">
        {messages.map((message) => (
          <li key={message.id}>
            <article className="message">
              <header>
                <h3>{message.subject || '(no subject)'}</h3>
                <p className="envelope">
                  <a href={mailboxHref(message.sender)}>{message.sender}</a>
                  {' → '}
                  {message.target ?? 'all mailboxes'} · <Time iso={message.createdAt} /> · hop{' '}
                  {message.hop}
                  {message.inReplyTo && <> · in reply to {message.inReplyTo}</>}
                </p>
              </header>
              <pre className="content">{message.content}</pre>
            </article>
          </li>
        ))}
      </ol>
      {pageInfo?.hasNextPage && pageInfo.endCursor && (
        <div className="pager">
          <button type="button" disabled={loading} onClick={() => load(pageInfo.endCursor)}>
            Later messages
          </button>
        </div>
      )}
    </Section>
  );
}
