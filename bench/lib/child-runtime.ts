import type { ChildMessage } from './children';

/** The runner, as seen from a child process. */
export interface ParentChannel {
  send(message: ChildMessage): void;
  /** The next message of `type` from the runner. */
  next<T extends ChildMessage>(type: string): Promise<T>;
}

function createChannel(): ParentChannel {
  const inbox: ChildMessage[] = [];
  const waiters: Array<{ type: string; resolve: (message: ChildMessage) => void }> = [];
  process.on('message', (message: ChildMessage) => {
    const index = waiters.findIndex((waiter) => waiter.type === message.type);
    if (index >= 0) waiters.splice(index, 1)[0].resolve(message);
    else inbox.push(message);
  });
  return {
    send: (message) => {
      process.send?.(message);
    },
    next: <T extends ChildMessage>(type: string) => {
      const index = inbox.findIndex((message) => message.type === type);
      if (index >= 0) return Promise.resolve(inbox.splice(index, 1)[0] as T);
      return new Promise<T>((resolve) =>
        waiters.push({ type, resolve: (message) => resolve(message as T) }),
      );
    },
  };
}

function sendAndExit(message: ChildMessage, code: number): void {
  if (!process.send) process.exit(code);
  process.send(message, undefined, {}, () => process.exit(code));
}

/**
 * The body of a child process: waits for the runner's start message, runs `main` with its
 * payload, sends the result back and exits. A failure is sent as an error message.
 */
export function runAsChild<TStart, TResult>(
  main: (payload: TStart, parent: ParentChannel) => Promise<TResult>,
): void {
  if (!process.send) {
    process.stderr.write('this file is a child process of bench/run.ts: run `npm run bench`\n');
    process.exit(2);
  }
  const parent = createChannel();
  // The runner going away (Ctrl-C, crash) ends the child too.
  process.on('disconnect', () => process.exit(0));
  parent
    .next<ChildMessage & { payload: TStart }>('start')
    .then((start) => main(start.payload, parent))
    .then(
      (payload) => sendAndExit({ type: 'result', payload }, 0),
      (error: unknown) => {
        const failure = error instanceof Error ? error : new Error(String(error));
        sendAndExit({ type: 'error', message: failure.stack ?? failure.message }, 1);
      },
    );
}
