/** How a `mailbox` run ends; scripts branch on these. */
export enum ExitCode {
  Ok = 0,
  /** The service refused or failed the request: `error <code>: <message>` on stderr. */
  Failed = 1,
  /** `wait` saw no matching message in time. */
  TimedOut = 2,
  /** Bad arguments (sysexits' EX_USAGE). */
  Usage = 64,
  /** The service could not be reached, or the connection was lost (sysexits' EX_UNAVAILABLE). */
  Unavailable = 69,
}

/** An error the CLI reports as lines on stderr and an exit code, never as a stack trace. */
export abstract class CliError extends Error {
  abstract readonly exitCode: ExitCode;
  /** What the caller may do about it, printed after the error. */
  hint: string | null = null;

  /** The lines printed on stderr. */
  lines(): string[] {
    const lines = this.errorLines();
    return this.hint === null ? lines : [...lines, `hint: ${this.hint}`];
  }

  protected abstract errorLines(): string[];
}

/** Arguments the CLI cannot run with; printed with the command's usage line. */
export class UsageError extends CliError {
  readonly exitCode = ExitCode.Usage;

  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }

  protected errorLines(): string[] {
    return [`mailbox: ${this.message}`, `usage: ${this.usage}`];
  }
}

/** One error as the service reported it (`extensions.code` and `extensions.field`). */
export interface ServiceFault {
  code: string;
  message: string;
  field?: string;
}

/** The service answered with errors (GraphQL errors, a refused WebSocket, an ended feed). */
export class ServiceError extends CliError {
  readonly exitCode = ExitCode.Failed;

  constructor(readonly faults: ServiceFault[]) {
    super(faults.map((fault) => `${fault.code}: ${fault.message}`).join('; '));
  }

  protected errorLines(): string[] {
    return this.faults.map((fault) => `error ${fault.code}: ${fault.message}`);
  }
}

/**
 * The service is not there: nothing answered at the address (refused, unknown host, no answer
 * in time), or the connection to it was lost.
 */
export class UnreachableError extends CliError {
  readonly exitCode = ExitCode.Unavailable;

  constructor(address: string, reason: string, lost = false) {
    super(`${lost ? 'lost the connection to' : 'could not reach'} ${address}: ${reason}`);
  }

  protected errorLines(): string[] {
    return [`error: ${this.message}`];
  }
}
