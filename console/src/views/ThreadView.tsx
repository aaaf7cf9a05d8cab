// A conversation, oldest first, 50 messages a page, with its budget and the thread's kill
// switch (pauseThread / resumeThread).
import { useState } from 'react';
import { type ApiError, toApiError } from '../api';
import {
  PAUSE_THREAD,
  RESUME_THREAD,
  THREAD,
  THREAD_BUDGET,
  type ThreadBudget,
} from '../documents';
import { useApi, useCursorList, useLoader } from '../hooks';
import { count } from '../format';
import { mailboxHref } from '../routes';
import { Badge, ErrorAlert, MessageList, MoreButton, Section, Time } from '../ui';

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
            {shown.maxTokens === null ? '' : ` of ${shown.maxTokens}`} over{' '}
            {count(shown.messages, 'message')}
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
  const list = useCursorList(
    id,
    (after) => api.request(THREAD, { id, after }).then((data) => data.thread),
    (message) => message.id,
  );
  const { items: messages, loading, error } = list;

  return (
    <Section title={`Thread ${id}`}>
      <ThreadControls id={id} />
      <ErrorAlert error={error} title="Thread" />
      {loading && messages.length === 0 && <p className="muted">Loading…</p>}
      {!loading && !error && messages.length === 0 && (
        <p className="notice">No messages in this thread (or they have expired).</p>
      )}
      <MessageList
        messages={messages}
        heading="h3"
        envelope={(message) => (
          <>
            <a href={mailboxHref(message.sender)}>{message.sender}</a>
            {' → '}
            {message.target ?? 'all mailboxes'} · <Time iso={message.createdAt} /> · hop{' '}
            {message.hop}
            {message.inReplyTo && <> · in reply to {message.inReplyTo}</>}
          </>
        )}
      />
      <MoreButton list={list}>Later messages</MoreButton>
    </Section>
  );
}
