import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticksPerSecond: number | null = null;

function clockTicks(): number {
  if (ticksPerSecond === null) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces), or null. */
function statFields(pid: number | string): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null; // gone meanwhile
  }
}

/** The processes whose parent is `pid`, from every /proc/<pid>/stat (field 4 is the parent). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (fields && Number(fields[1]) === pid) children.push(Number(entry));
  }
  return children;
}

/**
 * CPU time (user + system) a process and every process under it have used so far, in
 * milliseconds, from /proc/<pid>/stat: utime and stime (fields 14 and 15) of each live
 * process, plus cutime and cstime (16 and 17), which hold the children it has waited for. A
 * child that exits between two samples (Redis' append-only-file rewrite) is thus counted
 * whole: live in the first, in its parent's cutime in the second. The tree matters for the
 * service with WORKERS > 1, whose workers are children of the process started.
 */
export function cpuMs(pid: number): number {
  const fields = statFields(pid);
  if (fields === null) throw new Error(`no process ${pid}`);
  return treeMs(pid, fields);
}

function treeMs(pid: number, fields: string[]): number {
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  const own = ((utime + stime + cutime + cstime) * 1000) / clockTicks();
  return childrenOf(pid).reduce((total, child) => {
    // A child that exited since it was listed is in its parent's cutime from now on.
    const childFields = statFields(child);
    return childFields === null ? total : total + treeMs(child, childFields);
  }, own);
}

/** CPU used by each named process between two samples. */
export class CpuMeter {
  private before: Record<string, number> = {};

  constructor(private readonly pids: Record<string, number>) {}

  start(): void {
    this.before = Object.fromEntries(
      Object.entries(this.pids).map(([name, pid]) => [name, cpuMs(pid)]),
    );
  }

  stop(): Record<string, number> {
    return Object.fromEntries(
      Object.entries(this.pids).map(([name, pid]) => [name, cpuMs(pid) - (this.before[name] ?? 0)]),
    );
  }
}

/** CPU milliseconds per unit of work (a message, a delivery) for each process. */
export function perUnit(cpu: Record<string, number>, units: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(cpu).map(([name, ms]) => [name, units > 0 ? ms / units : NaN]),
  );
}

/** "service, CPU per message: server 0.612 ms, redis 0.051 ms, client 0.102 ms" */
export function describeCpu(
  who: string,
  cpu: Record<string, number>,
  units: number,
  unit: string,
): string {
  const parts = Object.entries(perUnit(cpu, units)).map(
    ([name, ms]) => `${name} ${(ms * 1000).toFixed(0)} us`,
  );
  return `${who}, CPU per ${unit} in the measured phase: ${parts.join(', ')}`;
}
