// Small shared components.
import { type ReactNode, useEffect, useId, useRef } from 'react';
import { type ApiError, type Issue } from './api';
import { dateTime, relativeTime } from './format';
import { takeNavigationFocus } from './hooks';

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
