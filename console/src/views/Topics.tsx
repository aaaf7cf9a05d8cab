// Known topics in name order, filtered by a pattern (* one segment, # any number), and the
// recent messages of the one chosen.
import { useEffect, useId, useRef, useState } from 'react';
import { type ApiError, toApiError } from '../api';
import { type PageInfo, type Topic, TOPIC_MESSAGES, TOPICS } from '../documents';
import { useApi, useDebounced, useLoader } from '../hooks';
import { ErrorAlert, Section, TableRegion, Time } from '../ui';

export function Topics() {
  const api = useApi();
  const patternId = useId();
  const [patternText, setPatternText] = useState('');
  const pattern = useDebounced(patternText.trim(), 250);
  const [topics, setTopics] = useState<Topic[]>([]);
  const [pageInfo, setPageInfo] = useState<PageInfo | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  /** The pattern the list shows; answers for another are dropped. */
  const shown = useRef<string | null>(null);

  const load = (forPattern: string, after: string | null) => {
    setLoading(true);
    setError(null);
    api.request(TOPICS, { pattern: forPattern || null, after }).then(
      (data) => {
        if (shown.current !== forPattern) return;
        setLoading(false);
        setPageInfo(data.topics.pageInfo);
        setTopics((previous) => {
          if (after === null) return data.topics.nodes;
          const known = new Set(previous.map((topic) => topic.name));
          return [...previous, ...data.topics.nodes.filter((node) => !known.has(node.name))];
        });
      },
      (failure: unknown) => {
        if (shown.current !== forPattern) return;
        setLoading(false);
        setError(toApiError(failure));
      },
    );
  };
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    shown.current = pattern;
    loadRef.current(pattern, null);
    return () => {
      // Unmounted or a new pattern: drop this pattern's answers.
      shown.current = null;
    };
  }, [pattern]);

  return (
    <Section title="Topics">
      <div className="toolbar">
        <div className="field">
          <label htmlFor={patternId}>Pattern</label>
          <input
            id={patternId}
            type="search"
            placeholder="agents.#"
            aria-describedby={`${patternId}-hint`}
            value={patternText}
            onChange={(event) => setPatternText(event.target.value)}
          />
          <span id={`${patternId}-hint`} className="hint">
            * matches one segment, # any number of segments.
          </span>
        </div>
      </div>
      <ErrorAlert error={error} title="Topics" />
      <TableRegion label="Topics table">
        <table aria-busy={loading}>
          <caption>Topics</caption>
          <thead>
            <tr>
              <th scope="col">Topic</th>
              <th scope="col">Messages</th>
              <th scope="col">Created</th>
              <th scope="col">Last message</th>
            </tr>
          </thead>
          <tbody>
            {topics.map((topic) => (
              <tr key={topic.name} className={topic.name === chosen ? 'selected' : undefined}>
                <td>
                  <button
                    type="button"
                    className="link"
                    aria-pressed={topic.name === chosen}
                    onClick={() => setChosen(topic.name)}
                  >
                    {topic.name}
                  </button>
                </td>
                <td className="num">{topic.messageCount}</td>
                <td>
                  <Time iso={topic.createdAt} />
                </td>
                <td>
                  <Time iso={topic.lastMessageAt} relative />
                </td>
              </tr>
            ))}
            {topics.length === 0 && (
              <tr>
                <td colSpan={4} className="muted">
                  {loading ? 'Loading…' : 'No topics'}
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
            onClick={() => load(pattern, pageInfo.endCursor)}
          >
            More
          </button>
        </div>
      )}
      {chosen && <TopicMessages key={chosen} topic={chosen} />}
    </Section>
  );
}

function TopicMessages({ topic }: { topic: string }) {
  const api = useApi();
  const titleId = useId();
  const messages = useLoader(() => api.request(TOPIC_MESSAGES, { topic }), topic);
  const nodes = messages.data?.topicMessages.nodes ?? [];
  return (
    <section className="detail" aria-labelledby={titleId}>
      <h3 id={titleId}>Messages of {topic}</h3>
      <button type="button" onClick={messages.refetch}>
        Refresh messages
      </button>
      <ErrorAlert error={messages.error} title="Topic messages" />
      {messages.loading && <p className="muted">Loading…</p>}
      {!messages.loading && !messages.error && nodes.length === 0 && (
        <p className="muted">No stored messages (they may have expired).</p>
      )}
      <ol className="thread">
        {nodes.map((message) => (
          <li key={message.id}>
            <article className="message">
              <header>
                <h4>{message.subject || '(no subject)'}</h4>
                <p className="envelope">
                  {message.sender} · <Time iso={message.createdAt} /> ·{' '}
                  <span className="mono">{message.id}</span>
                </p>
              </header>
              <pre className="content">{message.content}</pre>
            </article>
          </li>
        ))}
      </ol>
      {messages.data?.topicMessages.pageInfo.hasNextPage && (
        <p className="muted">Showing the first 50 stored messages.</p>
      )}
    </section>
  );
}
