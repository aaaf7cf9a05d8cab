// Small shared components.
import { Fragment, type ReactNode, useEffect, useId, useMemo, useRef, useState } from 'react';
import { type ApiError, type Issue } from './api';
import { type ListedMessage, MESSAGE_CONTENT } from './documents';
import { byteSize, dateTime, leadingBytes, relativeTime, utf8Length } from './format';
import { type CursorList, takeNavigationFocus, useApi, useLoader } from './hooks';

/** A view: its <main> landmark, named by its <h2>, which takes focus after navigation. */
export function Section({
  title,
  children,
  className,
}: {
  title: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  const headingId = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    if (takeNavigationFocus()) heading.current?.focus();
  }, []);
  return (
    <main aria-labelledby={headingId} className={className ? `section ${className}` : 'section'}>
      <h2 id={headingId} ref={heading} tabIndex={-1}>
        {title}
      </h2>
      {children}
    </main>
  );
}

function IssueText({ issue }: { issue: Issue }) {
  const details = [issue.code, issue.field ? `field: ${issue.field}` : undefined].filter(Boolean);
  return (
    <>
      {issue.message}
      {details.length > 0 && <span className="error-code"> ({details.join(', ')})</span>}
    </>
  );
}

/** A visible alert with every error message and its extensions.code (nothing fails silently). */
export function ErrorAlert({
  error,
  title,
  action,
}: {
  error: ApiError | null;
  title?: string;
  action?: ReactNode;
}) {
  if (!error) return null;
  return (
    <div role="alert" className="alert">
      {title && <strong>{title}: </strong>}
      {error.issues.length === 1 ? (
        <IssueText issue={error.issues[0]} />
      ) : (
        <ul>
          {error.issues.map((issue, index) => (
            <li key={index}>
              <IssueText issue={issue} />
            </li>
          ))}
        </ul>
      )}
      {action && <> {action}</>}
    </div>
  );
}

/** A horizontally scrollable, keyboard-focusable wrapper for a table. */
export function TableRegion({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="table-wrap" role="region" aria-label={label} tabIndex={0}>
      {children}
    </div>
  );
}

/** The one row of an empty table body: "Loading…" while loading, else `text`. */
export function EmptyRow({
  columns,
  loading,
  text,
}: {
  columns: number;
  loading: boolean;
  text: string;
}) {
  return (
    <tr>
      <td colSpan={columns} className="muted">
        {loading ? 'Loading…' : text}
      </td>
    </tr>
  );
}

/**
 * A captioned table in its region ("<caption> table"), busy while loading, a row per item, and
 * an empty row when there are none.
 */
export function DataTable<T>({
  caption,
  head,
  items,
  loading,
  empty,
  children,
}: {
  caption: string;
  /** The column headers: a string is a plain <th scope="col">, anything else is used as is. */
  head: ReactNode[];
  items: readonly T[];
  loading: boolean;
  /** What the body says when there are no items. */
  empty: string;
  /** The row (a <tr> with its key) of an item. */
  children: (item: T) => ReactNode;
}) {
  return (
    <TableRegion label={`${caption} table`}>
      <table aria-busy={loading}>
        <caption>{caption}</caption>
        <thead>
          <tr>
            {head.map((cell, index) =>
              typeof cell === 'string' ? (
                <th key={index} scope="col">
                  {cell}
                </th>
              ) : (
                <Fragment key={index}>{cell}</Fragment>
              ),
            )}
          </tr>
        </thead>
        <tbody>
          {items.map((item) => children(item))}
          {items.length === 0 && <EmptyRow columns={head.length} loading={loading} text={empty} />}
        </tbody>
      </table>
    </TableRegion>
  );
}

/** The pager of a cursor list: a button that loads the next page, while there is one. */
export function MoreButton({
  list,
  children,
}: {
  list: Pick<CursorList<unknown, unknown>, 'pageInfo' | 'loading' | 'loadMore'>;
  children: ReactNode;
}) {
  const { pageInfo } = list;
  if (!pageInfo?.hasNextPage || !pageInfo.endCursor) return null;
  return (
    <div className="pager">
      <button type="button" disabled={list.loading} onClick={list.loadMore}>
        {children}
      </button>
    </div>
  );
}

/** A labelled search box for a toolbar, with an optional hint that describes it. */
export function SearchField({
  label,
  value,
  onChange,
  placeholder,
  hint,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
  hint?: ReactNode;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="search"
        placeholder={placeholder}
        aria-describedby={hint ? `${id}-hint` : undefined}
        value={value}
        onChange={(event) => onChange(event.target.value)}
      />
      {hint && (
        <span id={`${id}-hint`} className="hint">
          {hint}
        </span>
      )}
    </div>
  );
}

/** A labelled drop-down; `onChange` gets the chosen option's value as a string. */
export function SelectField<V extends string | number>({
  label,
  name,
  value,
  options,
  onChange,
}: {
  label: string;
  name?: string;
  value: V;
  options: readonly { value: V; label: string }[];
  onChange: (value: string) => void;
}) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} name={name} value={value} onChange={(event) => onChange(event.target.value)}>
        {options.map((option) => (
          <option key={option.value} value={option.value}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}

/** What a body shows until the reader asks for the rest: a message may hold 15 MiB. */
const SHOWN_BYTES = 256 * 1024;

/**
 * A message's body as plain text, its first SHOWN_BYTES and the rest on request ("Show all"):
 * drawn whole, a body of megabytes holds the page up for seconds. `focus`: the body takes
 * focus when it shows (it was asked for with a button that is gone then).
 */
export function MessageContent({ content, focus = false }: { content: string; focus?: boolean }) {
  const [all, setAll] = useState(false);
  const [asked, setAsked] = useState(focus);
  const shown = useMemo(() => (all ? content : leadingBytes(content, SHOWN_BYTES)), [all, content]);
  const cut = shown.length < content.length;
  const bytes = useMemo(() => (cut ? utf8Length(content) : 0), [cut, content]);
  const body = useRef<HTMLPreElement>(null);
  useEffect(() => {
    if (asked) body.current?.focus();
  }, [asked, all]);
  return (
    <>
      {/* Focusable: a long body scrolls inside its box. */}
      <pre className="content" ref={body} tabIndex={0}>
        {cut ? `${shown}…` : shown}
      </pre>
      {cut && (
        <p className="more">
          <span className="muted">
            The first {byteSize(SHOWN_BYTES)} of {byteSize(bytes)}.
          </span>{' '}
          <button
            type="button"
            onClick={() => {
              setAll(true);
              setAsked(true);
            }}
          >
            Show all ({byteSize(bytes)})
          </button>
        </p>
      )}
    </>
  );
}

/** A listed message's whole body, read (message(id)) when it mounts: on request. */
function WholeBody({ message }: { message: ListedMessage }) {
  const api = useApi();
  const body = useLoader(() => api.request(MESSAGE_CONTENT, { id: message.id }), message.id);
  if (body.data?.message) return <MessageContent content={body.data.message.content} focus />;
  return (
    <>
      <ErrorAlert error={body.error} title="Message body" />
      <pre className="content" aria-busy={body.loading}>
        {`${message.preview}…`}
      </pre>
      <p className="more muted">
        {body.loading ? 'Loading the full message…' : body.error ? '' : '(no longer stored)'}
      </p>
    </>
  );
}

/** A listed message's body: its preview, and the whole of it on request ("Show full message"). */
function ListedBody({ message }: { message: ListedMessage }) {
  const [whole, setWhole] = useState(false);
  if (whole) return <WholeBody message={message} />;
  return (
    <>
      <pre className="content">
        {message.previewTruncated ? `${message.preview}…` : message.preview}
      </pre>
      {message.previewTruncated && (
        <p className="more">
          <button type="button" onClick={() => setWhole(true)}>
            Show full message
          </button>
        </p>
      )}
    </>
  );
}

/**
 * Messages, oldest first, each an article: its subject as a heading, an envelope line, and the
 * body's preview (the list reads no whole body), the whole body read for one on request.
 */
export function MessageList<M extends ListedMessage>({
  messages,
  heading: Heading,
  envelope,
}: {
  messages: readonly M[];
  heading: 'h3' | 'h4';
  envelope: (message: M) => ReactNode;
}) {
  return (
    <ol className="thread">
      {messages.map((message) => (
        <li key={message.id}>
          <article className="message">
            <header>
              <Heading>{message.subject || '(no subject)'}</Heading>
              <p className="envelope">{envelope(message)}</p>
            </header>
            <ListedBody message={message} />
          </article>
        </li>
      ))}
    </ol>
  );
}

/** A time shown relative ("5 min ago") or local, with the full ISO time in its title. */
export function Time({ iso, relative = false }: { iso: string | null; relative?: boolean }) {
  if (!iso) return <span className="muted">never</span>;
  return (
    <time dateTime={iso} title={iso}>
      {relative ? relativeTime(iso) : dateTime(iso)}
    </time>
  );
}

/** A text badge (the text carries the meaning; the colour only repeats it). */
export function Badge({
  tone,
  children,
}: {
  tone: 'good' | 'warn' | 'bad' | 'plain';
  children: ReactNode;
}) {
  return <span className={`badge badge-${tone}`}>{children}</span>;
}

/** An inline SVG line of the values (decorative: the numbers are shown beside it). */
export function Sparkline({
  values,
  width = 160,
  height = 32,
}: {
  values: number[];
  width?: number;
  height?: number;
}) {
  const max = Math.max(...values, 0);
  const step = values.length > 1 ? width / (values.length - 1) : width;
  const points = values
    .map((value, index) => {
      const x = index * step;
      const y = max > 0 ? height - 2 - (value / max) * (height - 4) : height - 2;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  return (
    <svg
      className="sparkline"
      viewBox={`0 0 ${width} ${height}`}
      width={width}
      height={height}
      aria-hidden="true"
      focusable="false"
    >
      <line x1="0" y1={height - 2} x2={width} y2={height - 2} className="sparkline-base" />
      {values.length > 1 && <polyline points={points} className="sparkline-line" />}
    </svg>
  );
}
