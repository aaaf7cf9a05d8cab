import { AppError } from '../common/app-error';

/** Who is calling: the operator, or the owner of one mailbox. */
export type Principal = { kind: 'admin' } | MailboxPrincipal;

/** The owner of one mailbox, known by its token. */
export interface MailboxPrincipal {
  kind: 'mailbox';
  mailbox: string;
  tokenDigest: string;
}

export const ADMIN: Principal = { kind: 'admin' };

export class UnauthenticatedError extends AppError {
  constructor(reason: string) {
    super('UNAUTHENTICATED', `authorization: ${reason}; send "Authorization: Bearer <token>"`);
  }
}

export class ForbiddenError extends AppError {
  constructor(field: string, reason: string) {
    super('FORBIDDEN', `${field}: ${reason}`, { field });
  }
}

export function isAdmin(principal: Principal): boolean {
  return principal.kind === 'admin';
}

/** Only the operator may do this. */
export function assertAdmin(principal: Principal, operation: string): void {
  if (principal.kind !== 'admin') {
    throw new ForbiddenError(operation, 'only the admin token may do this');
  }
}

/** The mailbox's owner or the operator may do this. */
export function assertOwnerOrAdmin(principal: Principal, mailbox: string, field: string): void {
  if (principal.kind === 'admin' || principal.mailbox === mailbox) return;
  throw new ForbiddenError(
    field,
    `this token belongs to mailbox "${principal.mailbox}", not "${mailbox}"`,
  );
}

/**
 * The mailbox an operation acts for. A mailbox token may leave it out (its own mailbox) or
 * name its own; the admin names it.
 */
export function actingMailbox(
  principal: Principal,
  given: string | null | undefined,
  field: string,
): string {
  if (given === null || given === undefined) {
    if (principal.kind === 'mailbox') return principal.mailbox;
    throw new AppError(
      'BAD_USER_INPUT',
      `${field}: is required with the admin token: name the mailbox`,
      {
        field,
      },
    );
  }
  assertOwnerOrAdmin(principal, given, field);
  return given;
}

/** Whether the principal may act for the mailbox, without throwing. */
export function mayActFor(principal: Principal, mailbox: string | null): boolean {
  return principal.kind === 'admin' || (mailbox !== null && principal.mailbox === mailbox);
}
