// Known topics in name order, filtered by a pattern (* one segment, # any number), and the
// recent messages of the one chosen.
import { useId, useState } from 'react';
import { TOPIC_MESSAGES, TOPICS } from '../documents';
import { useApi, useCursorList, useDebounced } from '../hooks';
import { DataTable, ErrorAlert, MessageList, MoreButton, SearchField, Section, Time } from '../ui';

export function Topics() {
  const api = useApi();
  const [patternText, setPatternText] = useState('');
  const pattern = useDebounced(patternText.trim(), 250);
  const list = useCursorList(
    pattern,
    (after) => api.request(TOPICS, { pattern: pattern || null, after }).then((data) => data.topics),
    (topic) => topic.name,
  );
  const [chosen, setChosen] = useState<string | null>(null);

  return (
    <Section title="Topics">
      <div className="toolbar">
        <SearchField
          label="Pattern"
          placeholder="agents.#"
          hint="* matches one segment, # any number of segments."
          value={patternText}
          onChange={setPatternText}
        />
      </div>
      <ErrorAlert error={list.error} title="Topics" />
      <DataTable
        caption="Topics"
        head={['Topic', 'Messages', 'Created', 'Last message']}
        items={list.items}
        loading={list.loading}
        empty="No topics"
      >
        {(topic) => (
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
        )}
      </DataTable>
      <MoreButton list={list}>More</MoreButton>
      {chosen && <TopicMessages key={chosen} topic={chosen} />}
    </Section>
  );
}

function TopicMessages({ topic }: { topic: string }) {
  const api = useApi();
  const titleId = useId();
  // Oldest first, 50 at a time: the later ones a page at a time, up to the newest.
  const messages = useCursorList(
    topic,
    (after) =>
      api.request(TOPIC_MESSAGES, { topic, after }).then(({ topicMessages }) => topicMessages),
    (message) => message.id,
  );
  const nodes = messages.items;
  return (
    <section className="detail" aria-labelledby={titleId}>
      <h3 id={titleId}>Messages of {topic}</h3>
      <button type="button" onClick={messages.reload}>
        Refresh messages
      </button>
      <ErrorAlert error={messages.error} title="Topic messages" />
      {messages.loading && <p className="muted">Loading…</p>}
      {!messages.loading && !messages.error && nodes.length === 0 && (
        <p className="muted">No stored messages (they may have expired).</p>
      )}
      <MessageList
        messages={nodes}
        heading="h4"
        envelope={(message) => (
          <>
            {message.sender} · <Time iso={message.createdAt} /> ·{' '}
            <span className="mono">{message.id}</span>
          </>
        )}
      />
      <MoreButton list={messages}>Later messages</MoreButton>
    </section>
  );
}
