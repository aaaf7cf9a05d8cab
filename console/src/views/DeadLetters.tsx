// Dead letters, newest first: redrive (back to PENDING) or purge, one, some or all of a mailbox's.
import { useMemo, useState } from 'react';
import { type Api, ApiError, type Issue, toApiError } from '../api';
import {
  DEAD_LETTER_PREVIEWS,
  DEAD_LETTERS,
  type DeadLetter,
  type DeadLetterPreview,
  MAILBOX_DEAD_LETTERS,
  PURGE_DEAD_LETTERS,
  REDRIVE_DEAD_LETTERS,
} from '../documents';
import { count, preview } from '../format';
import { useApi, useDebounced, useLoader, useOneAtATime } from '../hooks';
import { mailboxHref, threadHref } from '../routes';
import { DataTable, ErrorAlert, SearchField, SelectField, Section, Time } from '../ui';

const SIZES = [50, 100, 200, 500];

type Action = 'redrive' | 'purge';

/** A dead letter is one message in one mailbox (a broadcast can be dead in several). */
function keyOf(letter: DeadLetter | DeadLetterPreview): string {
  return `${letter.mailbox}\n${letter.message.id}`;
}

/** A page after the first: it starts after `before`, `skipped` dead letters down the list. */
interface Older {
  before: string;
  skipped: number;
}

interface Listed {
  mailbox: string;
  first: number;
  page: Older | null;
  letters: DeadLetter[];
  /**
   * How many dead letters this page would hold at least: a page that holds fewer was cut by
   * the 64 MiB of bodies an operation may read, which it does not tell otherwise.
   */
  expected: number;
  /** Changes with every answer: the previews are read again for each. */
  answer: number;
}

let answers = 0;

/**
 * A page of `first` dead letters, newest first, of the mailbox or (empty) of all: the newest,
 * or those after `page.before`; with `expected`.
 */
async function load(api: Api, mailbox: string, first: number, page: Older | null): Promise<Listed> {
  const before = page?.before ?? null;
  const skipped = page?.skipped ?? 0;
  const listed = (letters: DeadLetter[], atLeast: number): Listed => ({
    mailbox,
    first,
    page,
    letters,
    expected: Math.max(0, Math.min(first, atLeast - skipped)),
    answer: (answers += 1),
  });
  if (mailbox) {
    const data = await api.request(MAILBOX_DEAD_LETTERS, { mailbox, first, before });
    return listed(data.deadLetters, data.mailbox?.deadLetterCount ?? 0);
  }
  const data = await api.request(DEAD_LETTERS, { first, before });
  const { total, mailboxes } = data.mailboxPage;
  // The mailboxes past the page hold one dead letter each at least.
  const atLeast =
    mailboxes.reduce((sum, row) => sum + row.deadLetterCount, 0) + total - mailboxes.length;
  return listed(data.deadLetters, atLeast);
}

/** Calls the mutation once per mailbox; resolves with how many it moved, and the failures. */
async function apply(
  api: Api,
  action: Action,
  groups: Map<string, string[] | null>,
): Promise<{ done: number; failures: ApiError | null }> {
  const calls = [...groups].map(([mailbox, messageIds]) =>
    action === 'redrive'
      ? api
          .request(REDRIVE_DEAD_LETTERS, { mailbox, messageIds })
          .then((data) => data.redriveDeadLetters)
      : api
          .request(PURGE_DEAD_LETTERS, { mailbox, messageIds })
          .then((data) => data.purgeDeadLetters),
  );
  const results = await Promise.allSettled(calls);
  let done = 0;
  const issues: Issue[] = [];
  for (const result of results) {
    if (result.status === 'fulfilled') done += result.value;
    else issues.push(...toApiError(result.reason).issues);
  }
  return { done, failures: issues.length > 0 ? new ApiError(issues) : null };
}

function groupByMailbox(letters: DeadLetter[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const letter of letters) {
    const ids = groups.get(letter.mailbox) ?? [];
    ids.push(letter.message.id);
    groups.set(letter.mailbox, ids);
  }
  return groups;
}

export function DeadLetters() {
  const api = useApi();
  const [mailboxText, setMailboxText] = useState('');
  const mailbox = useDebounced(mailboxText.trim(), 250);
  const [first, setFirst] = useState(100);
  // The pages gone through to this one, for Newer; a new filter or size starts at the newest.
  const listKey = JSON.stringify([mailbox, first]);
  const [paging, setPaging] = useState<{ key: string; pages: Older[] }>({
    key: listKey,
    pages: [],
  });
  const pages = paging.key === listKey ? paging.pages : [];
  const page = pages.at(-1) ?? null;
  // The list and the previews each may read 64 MiB of bodies: never two at once.
  const oneAtATime = useOneAtATime();
  const list = useLoader(
    () => oneAtATime(() => load(api, mailbox, first, page)),
    JSON.stringify([mailbox, first, page?.before ?? null]),
  );
  const listed = list.data;
  const letters = listed?.letters ?? [];
  // Not listed: past what one operation may read.
  const cut = listed ? Math.max(0, listed.expected - letters.length) : 0;
  // A full page, or one cut short, may have older dead letters after it.
  const last = letters.at(-1);
  const older =
    listed && last && (letters.length === listed.first || cut > 0)
      ? { before: last.cursor, skipped: (listed.page?.skipped ?? 0) + letters.length }
      : null;
  // The previews apart, for each answer of the list: they read each body (its start), which
  // counts whole against the 64 MiB, so they may stop short of the list.
  const previews = useLoader(
    () =>
      listed
        ? oneAtATime(() =>
            api.request(DEAD_LETTER_PREVIEWS, {
              mailbox: listed.mailbox || null,
              first: listed.first,
              before: listed.page?.before ?? null,
            }),
          )
        : Promise.resolve(null),
    String(listed?.answer ?? 0),
  );
  const previewOf = useMemo(
    () => new Map((previews.data?.deadLetters ?? []).map((letter) => [keyOf(letter), letter])),
    [previews.data],
  );
  const previewsRead = !previews.loading && previews.data !== null;
  const unpreviewed = previewsRead
    ? letters.filter((letter) => !letter.message.subject && !previewOf.has(keyOf(letter))).length
    : 0;

  /** The subject, or else the body's start; "…" while it loads. */
  const subjectOf = (letter: DeadLetter): string => {
    const shown = previewOf.get(keyOf(letter));
    if (letter.message.subject || shown) {
      return preview({
        subject: letter.message.subject,
        content: shown?.message.preview ?? '',
        more: shown?.message.previewTruncated,
      });
    }
    return previewsRead || previews.error ? '(preview not read)' : '…';
  };

  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  /** To another page of the list: what was selected on this one is not carried over. */
  const turn = (next: Older[]) => {
    setPaging({ key: listKey, pages: next });
    setSelected(new Set());
  };
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  const [actionError, setActionError] = useState<ApiError | null>(null);

  const chosen = letters.filter((letter) => selected.has(keyOf(letter)));
  const allChosen = letters.length > 0 && chosen.length === letters.length;

  const toggle = (letter: DeadLetter, on: boolean) =>
    setSelected((previous) => {
      const next = new Set(previous);
      if (on) next.add(keyOf(letter));
      else next.delete(keyOf(letter));
      return next;
    });

  /** Runs an action on the groups (message ids null: all of that mailbox's), then refetches. */
  const run = (action: Action, groups: Map<string, string[] | null>, what: string) => {
    if (groups.size === 0) return;
    if (
      action === 'purge' &&
      !window.confirm(`Purge ${what}? Purged dead letters are deleted for good.`)
    ) {
      return;
    }
    setBusy(true);
    setStatus('');
    setActionError(null);
    void apply(api, action, groups)
      .then(({ done, failures }) => {
        const verb = action === 'redrive' ? 'Redrove' : 'Purged';
        setStatus(`${verb} ${count(done, 'dead letter')}`);
        setActionError(failures);
        setSelected(new Set());
      })
      .finally(() => {
        setBusy(false);
        list.refetch();
      });
  };

  /** A new filter: what an action said of the last list is not said of the next. */
  const filterBy = (text: string) => {
    setMailboxText(text);
    setStatus('');
    setActionError(null);
  };

  const single = (letter: DeadLetter) => new Map([[letter.mailbox, [letter.message.id]]]);
  const selectedGroups = () => groupByMailbox(chosen);
  const allOfMailbox = () => new Map<string, string[] | null>([[mailbox, null]]);

  return (
    <Section title="Dead letters">
      <div className="toolbar">
        <SearchField label="Mailbox" value={mailboxText} onChange={filterBy} />
        <SelectField
          label="Rows"
          value={first}
          options={SIZES.map((size) => ({ value: size, label: String(size) }))}
          onChange={(value) => setFirst(Number(value))}
        />
        <button type="button" onClick={list.refetch}>
          Refresh
        </button>
      </div>
      <div className="toolbar">
        <button
          type="button"
          disabled={busy || chosen.length === 0}
          onClick={() => run('redrive', selectedGroups(), count(chosen.length, 'dead letter'))}
        >
          Redrive selected
        </button>
        <button
          type="button"
          className="danger"
          disabled={busy || chosen.length === 0}
          onClick={() => run('purge', selectedGroups(), count(chosen.length, 'dead letter'))}
        >
          Purge selected
        </button>
        {mailbox && (
          <>
            <button
              type="button"
              disabled={busy}
              onClick={() => run('redrive', allOfMailbox(), `every dead letter of ${mailbox}`)}
            >
              Redrive all
            </button>
            <button
              type="button"
              className="danger"
              disabled={busy}
              onClick={() => run('purge', allOfMailbox(), `every dead letter of ${mailbox}`)}
            >
              Purge all
            </button>
          </>
        )}
        <span className="muted">{chosen.length} selected</span>
      </div>
      <p role="status" className="status">
        {status}
      </p>
      <ErrorAlert error={actionError} title="Action failed" />
      <ErrorAlert error={list.error} title="Dead letters" />
      <ErrorAlert error={list.error ? null : previews.error} title="Previews" />
      {cut > 0 && (
        <p className="notice">
          Only {letters.length} of the {page ? 'next' : 'newest'}{' '}
          {count(letters.length + cut, 'dead letter')} are listed: the messages of the others pass
          the 64 MiB of bodies one request may read. Older lists the ones after them.
        </p>
      )}
      {unpreviewed > 0 && (
        <p className="muted">
          No preview for {count(unpreviewed, 'dead letter')} without a subject: the previews stop at
          the 64 MiB of bodies one request may read.
        </p>
      )}
      <DataTable
        caption="Dead letters"
        head={[
          <th scope="col">
            <input
              type="checkbox"
              aria-label="Select all"
              checked={allChosen}
              disabled={letters.length === 0}
              onChange={(event) =>
                setSelected(event.target.checked ? new Set(letters.map(keyOf)) : new Set())
              }
            />
          </th>,
          'Mailbox',
          'Message id',
          'Sender',
          'Subject',
          'Reason',
          'Attempts',
          'Dead-lettered',
          'Actions',
        ]}
        items={letters}
        loading={list.loading}
        empty="No dead letters"
      >
        {(letter) => {
          const id = letter.message.id;
          return (
            <tr key={keyOf(letter)}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Select ${id}`}
                  checked={selected.has(keyOf(letter))}
                  onChange={(event) => toggle(letter, event.target.checked)}
                />
              </td>
              <td>
                <a href={mailboxHref(letter.mailbox)}>{letter.mailbox}</a>
              </td>
              <td>
                <a href={threadHref(letter.message.threadId)} className="mono">
                  {id}
                </a>
              </td>
              <td>{letter.message.sender}</td>
              <td>{subjectOf(letter)}</td>
              <td>{letter.reason}</td>
              <td className="num">{letter.attempts}</td>
              <td>
                <Time iso={letter.deadLetteredAt} relative />
              </td>
              <td className="row-actions">
                <button
                  type="button"
                  aria-label={`Redrive ${id}`}
                  disabled={busy}
                  onClick={() => run('redrive', single(letter), `dead letter ${id}`)}
                >
                  Redrive
                </button>
                <button
                  type="button"
                  className="danger"
                  aria-label={`Purge ${id}`}
                  disabled={busy}
                  onClick={() => run('purge', single(letter), `dead letter ${id}`)}
                >
                  Purge
                </button>
              </td>
            </tr>
          );
        }}
      </DataTable>
      {(page || older) && (
        <div className="pager">
          <button type="button" disabled={!page} onClick={() => turn(pages.slice(0, -1))}>
            Newer
          </button>
          <button type="button" disabled={!older} onClick={() => older && turn([...pages, older])}>
            Older
          </button>
        </div>
      )}
    </Section>
  );
}
