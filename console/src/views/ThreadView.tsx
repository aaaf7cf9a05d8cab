// A conversation, oldest first, 50 messages a page, with its budget and the thread's kill
// switch (pauseThread / resumeThread).
import { useEffect, useRef, useState } from 'react';
import { type ApiError, toApiError } from '../api';
import {
  type PageInfo,
  PAUSE_THREAD,
  RESUME_THREAD,
  THREAD,
  THREAD_BUDGET,
  type ThreadBudget,
  type ThreadMessage,
} from '../documents';
import { useApi, useLoader } from '../hooks';
import { mailboxHref } from '../routes';
import { Badge, ErrorAlert, Section, Time } from '../ui';

/** The thread's spend and paused state, with Pause thread / Resume thread. */
function ThreadControls({ id }: { id: string }) {
  const api = useApi();
  const budget = useLoader(() => api.request(THREAD_BUDGET, { id }), id);
  const [changed, setChanged] = useState<ThreadBudget | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const shown = changed ?? budget.data?.threadBudget ?? null;

  const toggle = (pause: boolean) => {
    setBusy(true);
    setError(null);
    const done = pause
      ? api.request(PAUSE_THREAD, { id }).then((data) => data.pauseThread)
      : api.request(RESUME_THREAD, { id }).then((data) => data.resumeThread);
    done.then(
      (next) => {
        setBusy(false);
        setChanged(next);
      },
      (failure: unknown) => {
        setBusy(false);
        setError(toApiError(failure));
      },
    );
  };

  return (
    <>
      <ErrorAlert error={budget.error ?? error} title="Thread budget" />
      {shown && (
        <div className="toolbar">
          <span>
            {shown.paused ? <Badge tone="warn">paused</Badge> : 'Sending allowed'} ·{' '}
            {shown.spentTokens} tokens
            {shown.maxTokens === null ? '' : ` of ${shown.maxTokens}`} over {shown.messages}{' '}
            messages
          </span>
          <button type="button" disabled={busy} onClick={() => toggle(!shown.paused)}>
            {shown.paused ? 'Resume thread' : 'Pause thread'}
          </button>
        </div>
      )}
    </>
  );
}

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
      <ThreadControls id={id} />
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
