/** The sender name of the service's own notices; no mailbox may be registered under it. */
export const NOTICE_SENDER = 'mailbox-router';

/**
 * Whether a mailbox name is the service's own, in any case: no mailbox may take it or a name
 * that reads the same (`Mailbox-Router`), and no send may claim it, so a notice can never be
 * forged.
 */
export function isReservedName(name: string): boolean {
  return name.toLowerCase() === NOTICE_SENDER;
}
