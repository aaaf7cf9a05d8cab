// Views are addressed by the URL hash, so that each can be linked and back/forward work.

export type Route =
  | { view: 'overview' }
  | { view: 'mailboxes' }
  | { view: 'mailbox'; name: string }
  | { view: 'thread'; id: string }
  | { view: 'dead-letters' }
  | { view: 'topics' }
  | { view: 'compose' };

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** The view of a location hash; Mailboxes when there is none (or an unknown one). */
export function parseHash(hash: string): Route {
  const path = hash.replace(/^#\/?/, '');
  const slash = path.indexOf('/');
  const head = slash === -1 ? path : path.slice(0, slash);
  const rest = slash === -1 ? '' : decode(path.slice(slash + 1));
  switch (head) {
    case 'overview':
    case 'dead-letters':
    case 'topics':
    case 'compose':
      return { view: head };
    case 'mailbox':
      return rest ? { view: 'mailbox', name: rest } : { view: 'mailboxes' };
    case 'thread':
      return rest ? { view: 'thread', id: rest } : { view: 'mailboxes' };
    default:
      return { view: 'mailboxes' };
  }
}

export function mailboxHref(name: string): string {
  return `#mailbox/${encodeURIComponent(name)}`;
}

export function threadHref(id: string): string {
  return `#thread/${encodeURIComponent(id)}`;
}

/** A key that changes with the view and its subject (a mailbox, a thread). */
export function routeKey(route: Route): string {
  switch (route.view) {
    case 'mailbox':
      return `mailbox/${route.name}`;
    case 'thread':
      return `thread/${route.id}`;
    case 'overview':
    case 'mailboxes':
    case 'dead-letters':
    case 'topics':
    case 'compose':
      return route.view;
  }
}
