// Dead letters, newest first: redrive (back to PENDING) or purge, one, some or all of a mailbox's.
import { useState } from 'react';
import { type Api, ApiError, type Issue, toApiError } from '../api';
import {
  DEAD_LETTERS,
  type DeadLetter,
  PURGE_DEAD_LETTERS,
  REDRIVE_DEAD_LETTERS,
} from '../documents';
import { count, preview } from '../format';
import { useApi, useDebounced, useLoader } from '../hooks';
import { mailboxHref, threadHref } from '../routes';
import { DataTable, ErrorAlert, SearchField, SelectField, Section, Time } from '../ui';

const SIZES = [50, 100, 200, 500];

type Action = 'redrive' | 'purge';

/** A dead letter is one message in one mailbox (a broadcast can be dead in several). */
function keyOf(letter: DeadLetter): string {
  return `${letter.mailbox}\n${letter.message.id}`;
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
  const list = useLoader(
    () => api.request(DEAD_LETTERS, { mailbox: mailbox || null, first }),
    JSON.stringify([mailbox, first]),
  );
  const letters = list.data?.deadLetters ?? [];

  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
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
              <td>{preview(letter.message)}</td>
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
    </Section>
  );
}
