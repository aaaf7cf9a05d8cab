import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

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

/** CPU time (user + system) a process has used so far, in milliseconds, from /proc/<pid>/stat. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
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
