// The message browser of one mailbox: peeks at its messages, oldest first (reading never marks
// them read), and shows one message's envelope and deliveries. It does not subscribe to the
// mailbox's feed: a subscription would count as the owner being online and take the pushes of
// deliveries that wait for a confirmation. Refresh reads again.
import { useCallback, useEffect, useId, useRef, useState } from 'react';
import { type ApiError, toApiError } from '../api';
import {
  DELIVERIES,
  type MailboxDetail,
  MESSAGES,
  type MessageNode,
  type PageInfo,
} from '../documents';
import { preview } from '../format';
import { useApi, useLoader } from '../hooks';
import { threadHref } from '../routes';
import { Badge, ErrorAlert, Section, TableRegion, Time } from '../ui';

type Row = MessageNode;

export function MailboxView({ name }: { name: string }) {
  const api = useApi();
  const unreadId = useId();
  const [unreadOnly, setUnreadOnly] = useState(false);
  const [mailbox, setMailbox] = useState<Omit<MailboxDetail, 'messages'> | null>(null);
  const [missing, setMissing] = useState(false);
  const [rows, setRows] = useState<Row[]>([]);
  const [pageInfo, setPageInfo] = useState<PageInfo | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [generation, setGeneration] = useState(0);
  /** Whether an answer still belongs to the list shown (the name and filter it was asked with). */
  const isCurrent = useRef<() => boolean>(() => false);

  /** Loads a page: the first (replacing the list) or the one after `after` (appending). */
  const load = useCallback(
    (after: string | null, isCurrent: () => boolean) => {
      setLoading(true);
      setError(null);
      api.request(MESSAGES, { name, after, unreadOnly }).then(
        (data) => {
          if (!isCurrent()) return;
          setLoading(false);
          if (!data.mailbox) {
            setMissing(true);
            setMailbox(null);
            setRows([]);
            setPageInfo(null);
            return;
          }
          const { messages, ...summary } = data.mailbox;
          setMissing(false);
          setMailbox(summary);
          setPageInfo(messages.pageInfo);
          setRows((previous) => {
            if (after === null) return messages.nodes;
            const known = new Set(previous.map((row) => row.id));
            return [...previous, ...messages.nodes.filter((node) => !known.has(node.id))];
          });
        },
        (failure: unknown) => {
          if (!isCurrent()) return;
          setLoading(false);
          setError(toApiError(failure));
        },
      );
    },
    [api, name, unreadOnly],
  );

  // The first page, again whenever the filter changes or Refresh is pressed.
  useEffect(() => {
    let current = true;
    isCurrent.current = () => current;
    load(null, () => current);
    return () => {
      current = false;
    };
  }, [load, generation]);

  const selected = rows.find((row) => row.id === selectedId) ?? null;

  return (
    <Section title={`Mailbox ${name}`}>
      {missing && <p className="notice">There is no mailbox named “{name}”.</p>}
      {mailbox && (
        <dl className="facts inline">
          <div className="fact">
            <dt>Unread</dt>
            <dd>{mailbox.unreadCount}</dd>
          </div>
          <div className="fact">
            <dt>Pending</dt>
            <dd>{mailbox.pendingCount}</dd>
          </div>
          <div className="fact">
            <dt>Dead letters</dt>
            <dd>{mailbox.deadLetterCount}</dd>
          </div>
          <div className="fact">
            <dt>Presence</dt>
            <dd>
              {mailbox.online ? (
                <Badge tone="good">online</Badge>
              ) : (
                <Badge tone="plain">offline</Badge>
              )}
            </dd>
          </div>
          <div className="fact">
            <dt>Sending</dt>
            <dd>{mailbox.paused ? <Badge tone="warn">paused</Badge> : 'allowed'}</dd>
          </div>
        </dl>
      )}
      <div className="toolbar">
        <div className="field checkbox">
          <input
            id={unreadId}
            type="checkbox"
            checked={unreadOnly}
            onChange={(event) => setUnreadOnly(event.target.checked)}
          />
          <label htmlFor={unreadId}>Unread only</label>
        </div>
        <button type="button" onClick={() => setGeneration((n) => n + 1)}>
          Refresh
        </button>
        <span className="muted">Oldest first. Browsing never marks read.</span>
      </div>
      <ErrorAlert error={error} title="Messages" />
      <div className="browser">
        <div className="browser-list">
          <TableRegion label="Messages table">
            <table aria-busy={loading}>
              <caption>Messages</caption>
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Sender</th>
                  <th scope="col">Subject</th>
                  <th scope="col">Read</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((row) => (
                  <tr key={row.id} className={row.id === selectedId ? 'selected' : undefined}>
                    <td>
                      <Time iso={row.createdAt} />
                    </td>
                    <td>{row.sender}</td>
                    <td>
                      <button
                        type="button"
                        className="link"
                        aria-pressed={row.id === selectedId}
                        onClick={() => setSelectedId(row.id)}
                      >
                        {preview(row)}
                      </button>
                    </td>
                    <td>{row.read ? 'read' : <Badge tone="warn">unread</Badge>}</td>
                  </tr>
                ))}
                {rows.length === 0 && (
                  <tr>
                    <td colSpan={4} className="muted">
                      {loading ? 'Loading…' : 'No messages'}
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
          </TableRegion>
          {pageInfo?.hasNextPage && pageInfo.endCursor && (
            <div className="pager">
              <button
                type="button"
                disabled={loading}
                onClick={() => load(pageInfo.endCursor, isCurrent.current)}
              >
                Newer messages
              </button>
            </div>
          )}
        </div>
        {selected && <MessageDetail key={selected.id} message={selected} />}
      </div>
    </Section>
  );
}

function MessageDetail({ message }: { message: Row }) {
  const api = useApi();
  const titleId = useId();
  const deliveries = useLoader(() => api.request(DELIVERIES, { id: message.id }), message.id);
  const fields: [string, string][] = [
    ['Id', message.id],
    ['Sender', message.sender],
    ['Target', message.target ?? '—'],
    ['Mode', message.mode],
    ['Subject', message.subject ?? '—'],
    ['Content type', message.contentType],
    ['Thread', message.threadId],
    ['In reply to', message.inReplyTo ?? '—'],
    ['Hop', String(message.hop)],
    ['Created', message.createdAt],
    ['Read', message.read ? 'yes' : 'no'],
    ['Priority', message.priority],
    ['Token estimate', String(message.tokenEstimate)],
    ['Requires confirmation', message.requireConfirmation ? 'yes' : 'no'],
  ];
  const list = deliveries.data?.deliveryStatus ?? [];
  const attempts = list.flatMap((delivery) =>
    delivery.attempts.map((attempt) => ({ mailbox: delivery.mailbox, ...attempt })),
  );

  return (
    <section className="detail" aria-labelledby={titleId}>
      <h3 id={titleId}>Message {message.id}</h3>
      <p>
        <a href={threadHref(message.threadId)}>View thread</a>
      </p>
      <pre className="content">{message.content}</pre>
      <dl className="facts">
        {fields.map(([label, value]) => (
          <div key={label} className="fact">
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
      <h4>Deliveries</h4>
      <ErrorAlert error={deliveries.error} title="Deliveries" />
      <button type="button" onClick={deliveries.refetch}>
        Refresh deliveries
      </button>
      <TableRegion label="Deliveries table">
        <table>
          <caption>Deliveries</caption>
          <thead>
            <tr>
              <th scope="col">Mailbox</th>
              <th scope="col">Status</th>
              <th scope="col">Reason</th>
              <th scope="col">Attempts</th>
              <th scope="col">Next retry</th>
              <th scope="col">Delivered</th>
              <th scope="col">Waiting for subscriber</th>
            </tr>
          </thead>
          <tbody>
            {list.map((delivery) => (
              <tr key={delivery.mailbox}>
                <td>{delivery.mailbox}</td>
                <td>{delivery.status}</td>
                <td>{delivery.reason ?? ''}</td>
                <td className="num">{delivery.attempts.length}</td>
                <td>{delivery.nextRetryAt && <Time iso={delivery.nextRetryAt} />}</td>
                <td>{delivery.deliveredAt && <Time iso={delivery.deliveredAt} />}</td>
                <td>{delivery.waitingForSubscriber ? 'yes' : 'no'}</td>
              </tr>
            ))}
            {list.length === 0 && (
              <tr>
                <td colSpan={7} className="muted">
                  {deliveries.loading ? 'Loading…' : 'Not tracked (no deliveries recorded)'}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </TableRegion>
      {attempts.length > 0 && (
        <TableRegion label="Delivery attempts table">
          <table>
            <caption>Delivery attempts</caption>
            <thead>
              <tr>
                <th scope="col">Mailbox</th>
                <th scope="col">Attempt</th>
                <th scope="col">At</th>
                <th scope="col">Latency (ms)</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {attempts.map((attempt) => (
                <tr key={`${attempt.mailbox}/${attempt.number}`}>
                  <td>{attempt.mailbox}</td>
                  <td className="num">{attempt.number}</td>
                  <td>
                    <Time iso={attempt.at} />
                  </td>
                  <td className="num">{attempt.latencyMs ?? ''}</td>
                  <td>{attempt.error ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableRegion>
      )}
    </section>
  );
}
