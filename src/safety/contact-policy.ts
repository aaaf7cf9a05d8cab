import { AppError } from '../common/app-error';

/** Patterns one policy may hold. */
export const MAX_PATTERNS = 100;

/** A pattern: a mailbox name whose characters may also be `*` (any run of characters). */
const PATTERN = /^[A-Za-z0-9*][A-Za-z0-9_.*-]{0,127}$/;

/** The policy of a mailbox that set none: anyone may write to it. */
export const ACCEPT_ANYONE: readonly string[] = ['*'];

/**
 * A policy as the mailbox's metadata hash stores it (`acceptFrom`, a JSON array); null when
 * none is set or what is stored cannot be read (anyone may write).
 */
export function readStoredPolicy(stored: string | null | undefined): string[] | null {
  if (stored === null || stored === undefined) return null;
  try {
    const parsed: unknown = JSON.parse(stored);
    return Array.isArray(parsed) ? parsed.map(String) : null;
  } catch {
    return null;
  }
}

/** Checks a policy given to setContactPolicy; a bad one is BAD_USER_INPUT naming the field. */
export function checkPolicy(patterns: string[]): string[] {
  if (patterns.length === 0) {
    throw new AppError(
      'BAD_USER_INPUT',
      'acceptFrom: give at least one pattern (["*"] accepts anyone; pauseMailbox stops a mailbox)',
      { field: 'acceptFrom' },
    );
  }
  if (patterns.length > MAX_PATTERNS) {
    throw new AppError('BAD_USER_INPUT', `acceptFrom: at most ${MAX_PATTERNS} patterns`, {
      field: 'acceptFrom',
      limit: MAX_PATTERNS,
    });
  }
  patterns.forEach((pattern, index) => {
    if (!PATTERN.test(pattern)) {
      throw new AppError(
        'BAD_USER_INPUT',
        `acceptFrom[${index}]: a mailbox name in which * stands for any characters`,
        { field: `acceptFrom[${index}]` },
      );
    }
  });
  return [...new Set(patterns)];
}

/** Whether `sender` matches one of the patterns (`*` any run of characters, the rest literal). */
export function accepts(patterns: readonly string[], sender: string): boolean {
  return patterns.some((pattern) => {
    if (pattern === '*') return true;
    if (!pattern.includes('*')) return pattern === sender;
    const parts = pattern.split('*');
    if (!sender.startsWith(parts[0])) return false;
    let at = parts[0].length;
    for (let i = 1; i < parts.length - 1; i++) {
      const found = sender.indexOf(parts[i], at);
      if (found === -1) return false;
      at = found + parts[i].length;
    }
    const last = parts[parts.length - 1];
    return sender.length - last.length >= at && sender.endsWith(last);
  });
}
