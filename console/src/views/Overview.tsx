// Live rates, computed here from routerStatistics polled every 2 s.
import { useEffect, useState } from 'react';
import { type ApiError, toApiError } from '../api';
import { ONLINE_COUNT, type RouterStatistics, STATISTICS } from '../documents';
import { number, rate } from '../format';
import { useApi } from '../hooks';
import { ErrorAlert, Section, Sparkline } from '../ui';

const POLL_MS = 2000;
/** 61 samples give the last 60 rates. */
const MAX_SAMPLES = 61;

interface Sample {
  at: number;
  stats: RouterStatistics;
}

type Counter = 'messagesRouted' | 'messagesDelivered' | 'messagesRetried' | 'messagesFailed';

const RATES: { counter: Counter; label: string }[] = [
  { counter: 'messagesRouted', label: 'Sent' },
  { counter: 'messagesDelivered', label: 'Delivered' },
  { counter: 'messagesRetried', label: 'Retried' },
  { counter: 'messagesFailed', label: 'Failed' },
];

/** Per-second rates between consecutive samples (a counter that went back, a restart, is 0). */
function ratesOf(samples: Sample[], counter: Counter): number[] {
  const rates: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const seconds = (samples[i].at - samples[i - 1].at) / 1000;
    const delta = samples[i].stats[counter] - samples[i - 1].stats[counter];
    rates.push(seconds > 0 && delta > 0 ? delta / seconds : 0);
  }
  return rates;
}

export function Overview() {
  const api = useApi();
  const [samples, setSamples] = useState<Sample[]>([]);
  const [online, setOnline] = useState<number | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [onlineError, setOnlineError] = useState<ApiError | null>(null);

  // Polls every 2 s after the previous answer, so that slow answers never pile up.
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = () => {
      const statistics = api.request(STATISTICS, {}).then(
        (data) => {
          if (stopped) return;
          setSamples((previous) =>
            [...previous, { at: Date.now(), stats: data.routerStatistics }].slice(-MAX_SAMPLES),
          );
          setError(null);
        },
        (failure: unknown) => {
          if (!stopped) setError(toApiError(failure));
        },
      );
      const onlineCount = api.request(ONLINE_COUNT, {}).then(
        (data) => {
          if (stopped) return;
          setOnline(data.mailboxPage.total);
          setOnlineError(null);
        },
        (failure: unknown) => {
          if (!stopped) setOnlineError(toApiError(failure));
        },
      );
      void Promise.all([statistics, onlineCount]).then(() => {
        if (!stopped) timer = setTimeout(tick, POLL_MS);
      });
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api]);

  const latest = samples.length > 0 ? samples[samples.length - 1] : null;
  const stats = latest?.stats;

  return (
    <Section title="Overview">
      <ErrorAlert error={error} title="Statistics" />
      <ErrorAlert error={onlineError} title="Online mailboxes" />
      {!stats && !error && <p className="muted">Loading…</p>}
      {stats && (
        <>
          <p className="muted">
            Rates over the last {Math.max(samples.length - 1, 0)} samples, every {POLL_MS / 1000} s;
            updated {new Date(latest.at).toLocaleTimeString()}.
          </p>
          <ul className="rates">
            {RATES.map(({ counter, label }) => {
              const rates = ratesOf(samples, counter);
              const current = rates.length > 0 ? rates[rates.length - 1] : 0;
              return (
                <li key={counter} className="card">
                  <h3>{label}</h3>
                  <p className="rate">{rates.length > 0 ? rate(current) : '—'}</p>
                  <p className="muted">Total {number(stats[counter])}</p>
                  <Sparkline values={rates} />
                </li>
              );
            })}
          </ul>
          <h3>Service</h3>
          <dl className="facts">
            {[
              ['Running', stats.running ? 'yes' : 'no'],
              ['Connections (this instance)', number(stats.connections)],
              ['Online mailboxes', online === null ? '—' : number(online)],
              ['Pending deliveries', number(stats.pendingDeliveries)],
              ['Active confirmations', number(stats.activeConfirmations)],
              ['Guard refusals', number(stats.guardRefusals)],
              ['Tokens sent', number(stats.tokensSent)],
              ['Routing errors', number(stats.routingErrors)],
              ['Validation errors', number(stats.validationErrors)],
            ].map(([label, value]) => (
              <div key={label} className="fact">
                <dt>{label}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
        </>
      )}
    </Section>
  );
}
