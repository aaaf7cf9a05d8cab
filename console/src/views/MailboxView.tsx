// The message browser of one mailbox: peeks at its messages, oldest first (reading never marks
// them read), and shows one message's envelope and deliveries. It does not subscribe to the
// mailbox's feed: a subscription would count as the owner being online and take the pushes of
// deliveries that wait for a confirmation. Refresh reads again.
import { useId, useState } from 'react';
import { DELIVERIES, MESSAGE_BODY, MESSAGES, type MessageRow } from '../documents';
import { preview } from '../format';
import { useApi, useCursorList, useLoader } from '../hooks';
import { threadHref } from '../routes';
import {
  Badge,
  DataTable,
  EmptyRow,
  ErrorAlert,
  MessageContent,
  MoreButton,
  Section,
  TableRegion,
  Time,
} from '../ui';

type Row = MessageRow;

export function MailboxView({ name }: { name: string }) {
  const api = useApi();
  const unreadId = useId();
  const [unreadOnly, setUnreadOnly] = useState(false);
  const list = useCursorList(
    JSON.stringify([name, unreadOnly]),
    (after) =>
      api.request(MESSAGES, { name, after, unreadOnly }).then(({ mailbox }) => {
        if (!mailbox) return { nodes: [], pageInfo: null, mailbox: null };
        const { messages, ...summary } = mailbox;
        return { ...messages, mailbox: summary };
      }),
    (row) => row.id,
  );
  const { items: rows, loading, error } = list;
  const mailbox = list.page?.mailbox ?? null;
  const missing = list.page !== null && list.page.mailbox === null;
  const [selectedId, setSelectedId] = useState<string | null>(null);

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
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
        <span className="muted">Oldest first. Browsing never marks read.</span>
      </div>
      <ErrorAlert error={error} title="Messages" />
      <div className="browser">
        <div className="browser-list">
          <DataTable
            caption="Messages"
            head={['Time', 'Sender', 'Subject', 'Read']}
            items={rows}
            loading={loading}
            empty="No messages"
          >
            {(row) => (
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
                    {preview({
                      subject: row.subject,
                      content: row.preview,
                      more: row.previewTruncated,
                    })}
                  </button>
                </td>
                <td>{row.read ? 'read' : <Badge tone="warn">unread</Badge>}</td>
              </tr>
            )}
          </DataTable>
          <MoreButton list={list}>Newer messages</MoreButton>
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
  // The list holds a preview of each body; the body is read for the message shown, and drawn
  // up to its first 256 KiB until asked for all of it (MessageContent).
  const body = useLoader(() => api.request(MESSAGE_BODY, { id: message.id }), message.id);
  const whole = body.data?.message ?? null;
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
    ['Token estimate', whole ? String(whole.tokenEstimate) : body.loading ? '…' : '—'],
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
      <ErrorAlert error={body.error} title="Message body" />
      {whole ? (
        <MessageContent content={whole.content} />
      ) : (
        <pre className="content" aria-busy={body.loading}>
          {body.loading ? 'Loading…' : body.error ? '' : '(no longer stored)'}
        </pre>
      )}
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
              <EmptyRow
                columns={7}
                loading={deliveries.loading}
                text="Not tracked (no deliveries recorded)"
              />
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
