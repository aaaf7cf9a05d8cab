// The mailbox table: server-side paging, sorting and filtering, kept live by mailboxChanges.
import { type Dispatch, type SetStateAction, useEffect, useRef, useState } from 'react';
import { type ApiError, toApiError } from '../api';
import {
  MAILBOX_CHANGES,
  MAILBOX_PAGE,
  type MailboxOrder,
  type MailboxRow,
  type MailboxState,
  PAUSE_MAILBOX,
  RESUME_MAILBOX,
} from '../documents';
import { useApi, useLoader, useSubscription } from '../hooks';
import { mailboxHref } from '../routes';
import { Badge, DataTable, ErrorAlert, SearchField, SelectField, Section, Time } from '../ui';

const PAGE_SIZE = 50;
const REFRESH_MS = 5000;
const FILTER_DEBOUNCE_MS = 250;

/** The table's query; kept by the shell so that it survives a visit to a mailbox. */
export interface MailboxQuery {
  filter: string;
  state: MailboxState | '';
  orderBy: MailboxOrder;
  descending: boolean;
  offset: number;
}

export const initialMailboxQuery: MailboxQuery = {
  filter: '',
  state: '',
  orderBy: 'NAME',
  descending: false,
  offset: 0,
};

const STATES: { value: MailboxState | ''; label: string }[] = [
  { value: '', label: 'All' },
  { value: 'ACTIVE', label: 'Active' },
  { value: 'INACTIVE', label: 'Inactive' },
  { value: 'ONLINE', label: 'Online' },
  { value: 'PAUSED', label: 'Paused' },
  { value: 'DEAD_LETTERED', label: 'With dead letters' },
];

/** A sortable column header: a button in a <th aria-sort>; clicking again reverses the order. */
function SortHeader({
  order,
  label,
  query,
  onSort,
}: {
  order: MailboxOrder;
  label: string;
  query: MailboxQuery;
  onSort: (order: MailboxOrder) => void;
}) {
  const active = query.orderBy === order;
  return (
    <th scope="col" aria-sort={active ? (query.descending ? 'descending' : 'ascending') : 'none'}>
      <button type="button" className="sort" onClick={() => onSort(order)}>
        {label}
        <span aria-hidden="true" className="sort-mark">
          {active ? (query.descending ? ' ▼' : ' ▲') : ' ↕'}
        </span>
      </button>
    </th>
  );
}

export function Mailboxes({
  query,
  setQuery,
}: {
  query: MailboxQuery;
  setQuery: Dispatch<SetStateAction<MailboxQuery>>;
}) {
  const api = useApi();

  // The filter applies once typing pauses.
  const [filterText, setFilterText] = useState(query.filter);
  useEffect(() => {
    const timer = setTimeout(() => {
      setQuery((q) => (q.filter === filterText ? q : { ...q, filter: filterText, offset: 0 }));
    }, FILTER_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [filterText, setQuery]);
  // Leaving the view keeps what was typed, even within the debounce.
  const latestFilter = useRef(filterText);
  useEffect(() => {
    latestFilter.current = filterText;
  }, [filterText]);
  useEffect(
    () => () =>
      setQuery((q) =>
        q.filter === latestFilter.current ? q : { ...q, filter: latestFilter.current, offset: 0 },
      ),
    [setQuery],
  );

  const variables = {
    filter: query.filter.trim() || null,
    state: query.state || null,
    orderBy: query.orderBy,
    descending: query.descending,
    offset: query.offset,
    first: PAGE_SIZE,
  };
  const page = useLoader(
    () => api.request(MAILBOX_PAGE, variables),
    JSON.stringify(variables),
    REFRESH_MS,
  );
  // Any change to any mailbox refetches the current page (bursts coalesce in useLoader).
  const live = useSubscription(MAILBOX_CHANGES, {}, 'changes', page.refetch);

  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<ApiError | null>(null);
  const [status, setStatus] = useState('');

  const togglePause = (mailbox: MailboxRow) => {
    setBusy(mailbox.name);
    setActionError(null);
    const done = mailbox.paused
      ? api.request(RESUME_MAILBOX, { name: mailbox.name }).then(() => `Resumed ${mailbox.name}`)
      : api.request(PAUSE_MAILBOX, { name: mailbox.name }).then(() => `Paused ${mailbox.name}`);
    void done
      .then(setStatus, (failure: unknown) => setActionError(toApiError(failure)))
      .finally(() => {
        setBusy(null);
        page.refetch();
      });
  };

  const sortBy = (orderBy: MailboxOrder) =>
    setQuery((q) => ({
      ...q,
      orderBy,
      descending: q.orderBy === orderBy ? !q.descending : false,
      offset: 0,
    }));

  const data = page.data?.mailboxPage;
  const rows = data?.mailboxes ?? [];
  const total = data?.total ?? 0;
  const offset = data?.offset ?? query.offset;
  const range =
    rows.length > 0 ? `${offset + 1}–${offset + rows.length} of ${total}` : `0 of ${total}`;

  return (
    <Section title="Mailboxes">
      <div className="toolbar">
        <SearchField label="Filter by name" value={filterText} onChange={setFilterText} />
        <SelectField
          label="State"
          value={query.state}
          options={STATES}
          onChange={(value) =>
            setQuery((q) => ({ ...q, state: value as MailboxState | '', offset: 0 }))
          }
        />
      </div>
      <ErrorAlert error={page.error} title="Mailboxes" />
      <ErrorAlert
        error={live.error}
        title="Live updates stopped"
        action={
          <button type="button" onClick={live.restart}>
            Reconnect live updates
          </button>
        }
      />
      <ErrorAlert error={actionError} />
      <p role="status" className="status">
        {status}
      </p>
      <DataTable
        caption="Mailboxes"
        head={[
          <SortHeader order="NAME" label="Name" query={query} onSort={sortBy} />,
          <SortHeader order="UNREAD" label="Unread" query={query} onSort={sortBy} />,
          <SortHeader order="PENDING" label="Pending" query={query} onSort={sortBy} />,
          <SortHeader order="DEAD_LETTERS" label="Dead letters" query={query} onSort={sortBy} />,
          'Online',
          <SortHeader order="LAST_SEEN" label="Last seen" query={query} onSort={sortBy} />,
          'Paused',
          'Actions',
        ]}
        items={rows}
        loading={page.loading}
        empty="No mailboxes"
      >
        {(mailbox) => (
          <tr key={mailbox.name} className={mailbox.active ? undefined : 'inactive'}>
            <td className="name">
              <a href={mailboxHref(mailbox.name)}>{mailbox.name}</a>
            </td>
            <td className="num">{mailbox.unreadCount}</td>
            <td className="num">{mailbox.pendingCount}</td>
            <td className="num">{mailbox.deadLetterCount}</td>
            <td>
              {mailbox.online ? (
                <Badge tone="good">online</Badge>
              ) : (
                <Badge tone="plain">offline</Badge>
              )}
            </td>
            <td>
              <Time iso={mailbox.lastSeenAt} relative />
            </td>
            <td>{mailbox.paused && <Badge tone="warn">paused</Badge>}</td>
            <td>
              <button
                type="button"
                aria-label={`${mailbox.paused ? 'Resume' : 'Pause'} ${mailbox.name}`}
                disabled={busy === mailbox.name}
                onClick={() => togglePause(mailbox)}
              >
                {mailbox.paused ? 'Resume' : 'Pause'}
              </button>
            </td>
          </tr>
        )}
      </DataTable>
      <div className="pager">
        <button
          type="button"
          disabled={query.offset === 0}
          onClick={() => setQuery((q) => ({ ...q, offset: Math.max(0, q.offset - PAGE_SIZE) }))}
        >
          Previous
        </button>
        <span>{range}</span>
        <button
          type="button"
          disabled={offset + rows.length >= total}
          onClick={() => setQuery((q) => ({ ...q, offset: offset + PAGE_SIZE }))}
        >
          Next
        </button>
      </div>
    </Section>
  );
}
