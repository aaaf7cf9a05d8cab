// Shared React hooks: the API context, the hash route, loading with coalesced refetches,
// cursor-paged lists, subscriptions, reads one at a time and debouncing.
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useLayoutEffect,
  useRef,
  useState,
} from 'react';
import { type Api, type ApiError, toApiError } from './api';
import { type PageInfo, type TypedDocument } from './documents';
import { parseHash, type Route } from './routes';

export const ApiContext = createContext<Api | null>(null);

export function useApi(): Api {
  const api = useContext(ApiContext);
  if (!api) throw new Error('useApi outside ApiContext');
  return api;
}

// --------------------------------------------------------------------- route

/** Set when the hash changes, so that the next view moves focus to its heading. */
let focusPending = false;

/** Whether the view just navigated to should take focus (true once per navigation). */
export function takeNavigationFocus(): boolean {
  const pending = focusPending;
  focusPending = false;
  return pending;
}

export function useRoute(): Route {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const onHashChange = () => {
      focusPending = true;
      setHash(location.hash);
    };
    window.addEventListener('hashchange', onHashChange);
    return () => window.removeEventListener('hashchange', onHashChange);
  }, []);
  return parseHash(hash);
}

// ------------------------------------------------------------------- loading

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  /** True until the first answer for the current key. */
  loading: boolean;
  /** Loads again; while a load is in flight, one more is queued (bursts coalesce). */
  refetch: () => void;
}

interface LoadState<T> {
  data: T | null;
  error: ApiError | null;
  key: string | null;
}

/**
 * Loads with `load` whenever `key` changes, and every `pollMs` if given. At most one load is
 * in flight and one queued; an answer for a key that is no longer current is dropped.
 */
export function useLoader<T>(load: () => Promise<T>, key: string, pollMs = 0): Loaded<T> {
  const loadRef = useRef(load);
  const keyRef = useRef(key);
  useLayoutEffect(() => {
    loadRef.current = load;
    keyRef.current = key;
  });
  const control = useRef({ inFlight: false, queued: false, alive: true });
  const [state, setState] = useState<LoadState<T>>({ data: null, error: null, key: null });

  const run = useCallback(function run(): void {
    const c = control.current;
    if (c.inFlight) {
      c.queued = true;
      return;
    }
    c.inFlight = true;
    const startedFor = keyRef.current;
    void loadRef
      .current()
      .then(
        (data) => {
          if (c.alive && startedFor === keyRef.current)
            setState({ data, error: null, key: startedFor });
        },
        (error: unknown) => {
          if (c.alive && startedFor === keyRef.current) {
            setState((previous) => ({ ...previous, error: toApiError(error), key: startedFor }));
          }
        },
      )
      .finally(() => {
        c.inFlight = false;
        if (c.alive && (c.queued || startedFor !== keyRef.current)) {
          c.queued = false;
          run();
        }
      });
  }, []);

  useEffect(() => {
    const c = control.current;
    c.alive = true;
    return () => {
      c.alive = false;
    };
  }, []);

  useEffect(() => {
    run();
  }, [key, run]);

  useEffect(() => {
    if (pollMs <= 0) return;
    const c = control.current;
    // A poll is skipped while a load is in flight.
    const timer = setInterval(() => {
      if (!c.inFlight) run();
    }, pollMs);
    return () => clearInterval(timer);
  }, [pollMs, run]);

  return {
    data: state.data,
    error: state.error,
    loading: state.key !== key,
    refetch: run,
  };
}

// -------------------------------------------------------------- cursor lists

/** One page of a cursor-paged list; `pageInfo` is null when there is no such list. */
export interface CursorPage<T> {
  nodes: T[];
  pageInfo: PageInfo | null;
}

export interface CursorList<T, P> {
  /** Every entry loaded so far, in page order, each once. */
  items: T[];
  pageInfo: PageInfo | null;
  /** The latest answer (null before the first), for what it carries besides the page. */
  page: P | null;
  /** True from a request until its answer (and before the first answer). */
  loading: boolean;
  error: ApiError | null;
  /** Loads the page after `pageInfo.endCursor` and appends the entries not shown yet. */
  loadMore: () => void;
  /** Loads the first page again, replacing the list. */
  reload: () => void;
}

/** The type of an entry of a page. */
type NodeOf<P extends CursorPage<unknown>> = P['nodes'][number];

interface CursorState<T, P> {
  items: T[];
  pageInfo: PageInfo | null;
  page: P | null;
  loading: boolean;
  error: ApiError | null;
}

/** `items` followed by those of `more` whose id is not among them. */
function appendNew<T>(items: T[], more: T[], idOf: (item: T) => string): T[] {
  const known = new Set(items.map(idOf));
  return [...items, ...more.filter((item) => !known.has(idOf(item)))];
}

/**
 * A cursor-paged list: loads the first page whenever `key` changes (or `reload` is called),
 * replacing the list, and the next page on `loadMore`, appending. An answer for a list no longer
 * shown (another key, a reload since, or unmounted) is dropped.
 */
export function useCursorList<P extends CursorPage<unknown>>(
  key: string,
  fetchPage: (after: string | null) => Promise<P>,
  idOf: (item: NodeOf<P>) => string,
): CursorList<NodeOf<P>, P> {
  const fetchRef = useRef(fetchPage);
  const idOfRef = useRef(idOf);
  useLayoutEffect(() => {
    fetchRef.current = fetchPage;
    idOfRef.current = idOf;
  });
  /** Advanced whenever the list shown changes; an answer started in an earlier one is dropped. */
  const epoch = useRef(0);
  const [generation, setGeneration] = useState(0);
  const [state, setState] = useState<CursorState<NodeOf<P>, P>>({
    items: [],
    pageInfo: null,
    page: null,
    loading: true,
    error: null,
  });

  const load = useCallback((after: string | null) => {
    const startedIn = epoch.current;
    setState((previous) => ({ ...previous, loading: true, error: null }));
    fetchRef.current(after).then(
      (page) => {
        if (startedIn !== epoch.current) return;
        setState((previous) => ({
          items:
            after === null || page.pageInfo === null
              ? page.nodes
              : appendNew(previous.items, page.nodes, idOfRef.current),
          pageInfo: page.pageInfo,
          page,
          loading: false,
          error: null,
        }));
      },
      (failure: unknown) => {
        if (startedIn !== epoch.current) return;
        setState((previous) => ({ ...previous, loading: false, error: toApiError(failure) }));
      },
    );
  }, []);

  useEffect(() => {
    load(null);
    return () => {
      epoch.current += 1;
    };
  }, [key, generation, load]);

  const endCursor = state.pageInfo?.hasNextPage ? state.pageInfo.endCursor : null;
  const loadMore = useCallback(() => {
    if (endCursor) load(endCursor);
  }, [endCursor, load]);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);

  return { ...state, loadMore, reload };
}

// ------------------------------------------------------------- subscriptions

export interface Live {
  /** Why the subscription stopped, if it did. */
  error: ApiError | null;
  restart: () => void;
}

/** Keeps a subscription open while mounted (and reopens it when `key` changes). */
export function useSubscription<TData, TVariables extends object>(
  document: TypedDocument<TData, TVariables>,
  variables: TVariables,
  key: string,
  onData: (data: TData) => void,
): Live {
  const api = useApi();
  const onDataRef = useRef(onData);
  const variablesRef = useRef(variables);
  useLayoutEffect(() => {
    onDataRef.current = onData;
    variablesRef.current = variables;
  });
  const [error, setError] = useState<ApiError | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let active = true;
    setError(null);
    const unsubscribe = api.subscribe(document, variablesRef.current, {
      next: (data) => {
        if (active) onDataRef.current(data);
      },
      error: (failure) => {
        if (active) setError(failure);
      },
      complete: () => {
        if (active) setError(toApiError(new Error('The service ended the live feed')));
      },
    });
    return () => {
      active = false;
      unsubscribe();
    };
  }, [api, document, key, attempt]);

  const restart = useCallback(() => setAttempt((n) => n + 1), []);
  return { error, restart };
}

// ------------------------------------------------------------- one at a time

/**
 * A function that runs reads one after the other, each once the one before has settled: for
 * a view whose reads may each have the service read up to 64 MiB of bodies from Redis.
 */
export function useOneAtATime(): <T>(read: () => Promise<T>) => Promise<T> {
  const last = useRef<Promise<unknown>>(Promise.resolve());
  return useCallback(<T>(read: () => Promise<T>): Promise<T> => {
    const next = last.current.then(read, read);
    last.current = next.catch(() => undefined);
    return next;
  }, []);
}

// ---------------------------------------------------------------- debouncing

/** `value`, once it has stayed the same for `ms`. */
export function useDebounced<T>(value: T, ms: number): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}
