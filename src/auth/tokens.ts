import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import { MAILBOX_NAME } from '../routing/address';

const PREFIX = 'mbx_';

/**
 * A mailbox token: `mbx_<base64url(mailbox name)>.<256 random bits>`. The name lets the
 * service find the one hash to compare against without an index; the random part is the
 * secret. Only SHA-256 digests of tokens are ever stored.
 */
export function issueMailboxToken(mailbox: string): string {
  return `${PREFIX}${Buffer.from(mailbox).toString('base64url')}.${randomBytes(32).toString('base64url')}`;
}

/** An admin token for a process started without ADMIN_TOKEN (development and tests only). */
export function generateAdminToken(): string {
  return `adm_${randomBytes(32).toString('base64url')}`;
}

export function tokenDigest(token: string): string {
  return hash('sha256', token);
}

/** The mailbox a token claims to be for, or null when the token is not of that form. */
export function tokenMailbox(token: string): string | null {
  if (!token.startsWith(PREFIX) || token.length > 400) return null;
  const dot = token.indexOf('.', PREFIX.length);
  if (dot < 0) return null;
  const name = Buffer.from(token.slice(PREFIX.length, dot), 'base64url').toString('utf8');
  // The name reaches a Redis key: it must pass the same rule as any mailbox name.
  return MAILBOX_NAME.test(name) ? name : null;
}

/** Compares two strings in constant time (for equal lengths); false for different lengths. */
export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The token of an `Authorization: Bearer <token>` value, or null. */
export function bearerToken(header: unknown): string | null {
  if (typeof header !== 'string') return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : null;
}
