/**
 * The environment variables of the `mailbox` CLI, read in this one place. The CLI is a client
 * process of its own: the service's validated configuration (src/config/) is not loaded here.
 */
export interface CliEnvironment {
  /** MAILBOX_URL: the service's address. */
  url: string | null;
  /** MAILBOX_TOKEN: sent as `Authorization: Bearer <token>`. */
  token: string | null;
  /** MAILBOX_NAME: the caller's own mailbox. */
  mailbox: string | null;
}

/** An empty variable counts as unset, as `MAILBOX_TOKEN= mailbox ...` means "no token". */
function variable(name: string): string | null {
  const value = process.env[name];
  return value === undefined || value === '' ? null : value;
}

export function readCliEnvironment(): CliEnvironment {
  return {
    url: variable('MAILBOX_URL'),
    token: variable('MAILBOX_TOKEN'),
    mailbox: variable('MAILBOX_NAME'),
  };
}
