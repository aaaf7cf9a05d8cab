// Sends a message as the operator, from a mailbox the operator names.
import { type FormEvent, useId, useState } from 'react';
import { type ApiError, toApiError } from '../api';
import {
  type AddressingMode,
  type RouteResult,
  SEND_MESSAGE,
  type SendMessageInput,
} from '../documents';
import { count } from '../format';
import { useApi } from '../hooks';
import { threadHref } from '../routes';
import { ErrorAlert, Section, SelectField } from '../ui';

const MODES: { value: AddressingMode; label: string }[] = [
  { value: 'DIRECT', label: 'DIRECT (one mailbox)' },
  { value: 'BROADCAST', label: 'BROADCAST (every active mailbox)' },
  { value: 'TOPIC', label: 'TOPIC (a topic)' },
];

interface Draft {
  sender: string;
  mode: AddressingMode;
  target: string;
  subject: string;
  content: string;
  threadId: string;
  replyWithinSeconds: string;
  requireConfirmation: boolean;
}

const EMPTY: Draft = {
  sender: '',
  mode: 'DIRECT',
  target: '',
  subject: '',
  content: '',
  threadId: '',
  replyWithinSeconds: '',
  requireConfirmation: false,
};

/**
 * A key for one draft's sends (plain HTTP pages lack crypto.randomUUID): sending the same
 * draft again, after an answer that never came, sends nothing twice.
 */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `console-${Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('')}`;
}

/** The mutation's input: optional fields only when given. */
function inputOf(draft: Draft, idempotencyKey: string): SendMessageInput {
  const input: SendMessageInput = {
    sender: draft.sender.trim(),
    mode: draft.mode,
    content: draft.content,
    idempotencyKey,
  };
  if (draft.mode !== 'BROADCAST' && draft.target.trim()) input.target = draft.target.trim();
  if (draft.subject.trim()) input.subject = draft.subject.trim();
  if (draft.threadId.trim()) input.threadId = draft.threadId.trim();
  if (draft.replyWithinSeconds.trim()) input.replyWithinSeconds = Number(draft.replyWithinSeconds);
  if (draft.requireConfirmation) input.requireConfirmation = true;
  return input;
}

export function Compose() {
  const api = useApi();
  const id = useId();
  const [draft, setDraft] = useState<Draft>(EMPTY);
  // A new key once the draft changes or is sent: the same draft sent again is one send.
  const [key, setKey] = useState(newKey);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<RouteResult | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  const set = <K extends keyof Draft>(field: K, value: Draft[K]) => {
    setDraft((previous) => ({ ...previous, [field]: value }));
    setKey(newKey());
  };

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setBusy(true);
    setResult(null);
    setError(null);
    void api
      .request(SEND_MESSAGE, { input: inputOf(draft, key) })
      .then(
        (data) => {
          setResult(data.sendMessage);
          setKey(newKey());
        },
        (failure: unknown) => setError(toApiError(failure)),
      )
      .finally(() => setBusy(false));
  };

  const broadcast = draft.mode === 'BROADCAST';
  const sent = result && result.status !== 'FAILED' ? result : null;
  const refused = result && result.status === 'FAILED' ? result : null;

  return (
    <Section title="Compose">
      <form aria-label="Compose" className="form compose" onSubmit={submit}>
        <div className="field">
          <label htmlFor={`${id}-sender`}>From mailbox</label>
          <input
            id={`${id}-sender`}
            name="sender"
            required
            autoComplete="off"
            value={draft.sender}
            onChange={(event) => set('sender', event.target.value)}
          />
        </div>
        <SelectField
          label="Mode"
          name="mode"
          value={draft.mode}
          options={MODES}
          onChange={(value) => set('mode', value as AddressingMode)}
        />
        <div className="field">
          <label htmlFor={`${id}-target`}>To</label>
          <input
            id={`${id}-target`}
            name="target"
            autoComplete="off"
            required={!broadcast}
            disabled={broadcast}
            placeholder={
              broadcast ? 'every active mailbox' : draft.mode === 'TOPIC' ? 'a topic' : 'a mailbox'
            }
            value={broadcast ? '' : draft.target}
            onChange={(event) => set('target', event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-subject`}>Subject</label>
          <input
            id={`${id}-subject`}
            name="subject"
            autoComplete="off"
            value={draft.subject}
            onChange={(event) => set('subject', event.target.value)}
          />
        </div>
        <div className="field wide">
          <label htmlFor={`${id}-content`}>Content</label>
          <textarea
            id={`${id}-content`}
            name="content"
            required
            rows={8}
            value={draft.content}
            onChange={(event) => set('content', event.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor={`${id}-thread`}>Thread id</label>
          <input
            id={`${id}-thread`}
            name="threadId"
            autoComplete="off"
            aria-describedby={`${id}-thread-hint`}
            value={draft.threadId}
            onChange={(event) => set('threadId', event.target.value)}
          />
          <span id={`${id}-thread-hint`} className="hint">
            Optional: joins an existing conversation.
          </span>
        </div>
        <div className="field">
          <label htmlFor={`${id}-reply`}>Reply within seconds</label>
          <input
            id={`${id}-reply`}
            name="replyWithinSeconds"
            type="number"
            min={1}
            max={86400}
            step={1}
            aria-describedby={`${id}-reply-hint`}
            value={draft.replyWithinSeconds}
            onChange={(event) => set('replyWithinSeconds', event.target.value)}
          />
          <span id={`${id}-reply-hint`} className="hint">
            Optional: makes it a request (1 to 86400).
          </span>
        </div>
        <div className="field checkbox wide">
          <input
            id={`${id}-confirm`}
            name="requireConfirmation"
            type="checkbox"
            checked={draft.requireConfirmation}
            onChange={(event) => set('requireConfirmation', event.target.checked)}
          />
          <label htmlFor={`${id}-confirm`}>Require confirmation</label>
        </div>
        <div className="actions wide">
          <button type="submit" className="primary" disabled={busy} aria-busy={busy}>
            Send
          </button>
        </div>
      </form>
      <div role="status" className="status">
        {sent && (
          <p>
            {sent.status}: message <span className="mono">{sent.messageId}</span>,{' '}
            {count(sent.recipients, 'recipient')}
            {sent.threadId && (
              <>
                , thread <a href={threadHref(sent.threadId)}>{sent.threadId}</a>
              </>
            )}
          </p>
        )}
      </div>
      {refused && (
        <div role="alert" className="alert">
          FAILED: {refused.error ?? 'not routed'}
          {refused.errorCode && <span className="error-code"> ({refused.errorCode})</span>}
        </div>
      )}
      <ErrorAlert error={error} title="Not sent" />
    </Section>
  );
}
