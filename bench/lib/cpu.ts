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
 * milliseconds, from /proc/<pid>/stat, in two parts: its own, utime and stime (fields 14 and
 * 15), and its descendants', cutime and cstime (16 and 17), which hold the children it has
 * waited for, and the same of each child alive. A child that exits between two samples
 * (Redis' append-only-file rewrite) is thus counted whole: live in the first, in its
 * parent's cutime in the second. The tree matters for the service with WORKERS > 1, whose
 * workers are children of the process started.
 */
function cpuSplitMs(pid: number): { own: number; descendants: number } {
  const fields = statFields(pid);
  if (fields === null) throw new Error(`no process ${pid}`);
  return splitMs(pid, fields);
}

function splitMs(pid: number, fields: string[]): { own: number; descendants: number } {
  const [utime, stime, cutime, cstime] = fields.slice(11, 15).map(Number);
  const waited = ((cutime + cstime) * 1000) / clockTicks();
  const descendants = childrenOf(pid).reduce((total, child) => {
    // A child that exited since it was listed is in its parent's cutime from now on.
    const childFields = statFields(child);
    if (childFields === null) return total;
    const { own, descendants: below } = splitMs(child, childFields);
    return total + own + below;
  }, waited);
  return { own: ((utime + stime) * 1000) / clockTicks(), descendants };
}

/**
 * The key under which CpuMeter gives the part of a Redis process's CPU that its forks spent.
 * With `save ""` and `appendonly yes`, as the bench runs Redis, those are its append-only-file
 * rewrites, which Redis starts whenever the file has doubled since the last one.
 */
export function forksKey(name: string): string {
  return `${name} forks`;
}

/**
 * CPU used by each named process, with everything under it, between two samples; for the
 * process named `redis`, also the part of that its forks spent (forksKey).
 */
export class CpuMeter {
  private before: Record<string, number> = {};

  constructor(private readonly pids: Record<string, number>) {}

  start(): void {
    this.before = this.sample();
  }

  stop(): Record<string, number> {
    return Object.fromEntries(
      Object.entries(this.sample()).map(([name, ms]) => [name, ms - (this.before[name] ?? 0)]),
    );
  }

  private sample(): Record<string, number> {
    const sample: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids)) {
      const { own, descendants } = cpuSplitMs(pid);
      sample[name] = own + descendants;
      if (name === 'redis') sample[forksKey(name)] = descendants;
    }
    return sample;
  }
}

/** CPU milliseconds per unit of work (a message, a delivery) for each process. */
export function perUnit(cpu: Record<string, number>, units: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(cpu).map(([name, ms]) => [name, units > 0 ? ms / units : NaN]),
  );
}

/**
 * Each process's CPU per unit of work: "service 61 us, redis 42 us (its AOF rewrites 16 us),
 * client 30 us". The part of a process's forks (forksKey) is given beside it, when they spent
 * any.
 */
export function describePerUnit(cpu: Record<string, number>, units: number): string {
  const per = perUnit(cpu, units);
  const us = (ms: number): string => `${(ms * 1000).toFixed(0)} us`;
  const forks = new Set(Object.keys(per).map(forksKey));
  return Object.entries(per)
    .filter(([name]) => !forks.has(name))
    .map(([name, ms]) => {
      const forked = per[forksKey(name)];
      return forked > 0
        ? `${name} ${us(ms)} (its AOF rewrites ${us(forked)})`
        : `${name} ${us(ms)}`;
    })
    .join(', ');
}

/** "service, CPU per message in the measured phase: server 612 us, redis 51 us, client 102 us" */
export function describeCpu(
  who: string,
  cpu: Record<string, number>,
  units: number,
  unit: string,
): string {
  return `${who}, CPU per ${unit} in the measured phase: ${describePerUnit(cpu, units)}`;
}
