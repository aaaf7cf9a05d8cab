// The sign-in form: checks the admin token over HTTP before the console opens.
import { type FormEvent, useId, useState } from 'react';
import { type ApiError, checkToken, toApiError } from './api';
import { ErrorAlert } from './ui';

export function SignIn({
  notice,
  onSignedIn,
}: {
  /** Why the last session ended (the service refused the token), if it did. */
  notice: string | null;
  onSignedIn: (token: string) => void;
}) {
  const inputId = useId();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [showNotice, setShowNotice] = useState(true);

  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const value = token.trim();
    setShowNotice(false);
    setError(null);
    setBusy(true);
    checkToken(value).then(
      () => onSignedIn(value),
      (failure: unknown) => {
        setError(toApiError(failure));
        setBusy(false);
      },
    );
  };

  return (
    <>
      <header className="app-header">
        <h1>Mailbox console</h1>
      </header>
      <main className="section sign-in" aria-labelledby={`${inputId}-title`}>
        <h2 id={`${inputId}-title`}>Sign in</h2>
        {notice && showNotice && (
          <div role="alert" className="alert">
            Signed out: {notice}
          </div>
        )}
        <form aria-label="Sign in" onSubmit={submit} className="form">
          <div className="field">
            <label htmlFor={inputId}>Admin token</label>
            <input
              id={inputId}
              name="token"
              type="password"
              autoComplete="current-password"
              required
              value={token}
              onChange={(event) => setToken(event.target.value)}
            />
          </div>
          <ErrorAlert error={error} title="Sign-in failed" />
          <div className="actions">
            <button type="submit" className="primary" disabled={busy} aria-busy={busy}>
              Sign in
            </button>
          </div>
        </form>
        <p className="muted">
          The token stays in this tab only (session storage) and is sent to this service alone.
        </p>
      </main>
    </>
  );
}
