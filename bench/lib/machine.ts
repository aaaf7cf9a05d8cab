import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import type { RedisServer } from './redis-server';

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  redis: string;
  platform: string;
  /** The 1-minute load average when the run started: other work competing for the cores. */
  loadAverageAtStart: number;
}

function cpuModel(): string {
  try {
    const model = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
    if (model) return model.trim();
  } catch {
    // not Linux: fall through
  }
  return cpus()[0]?.model ?? 'unknown';
}

/** `loadAverage`: the 1-minute load average read before the run did anything. */
export async function describeMachine(
  redis: RedisServer,
  loadAverage: number,
): Promise<MachineInfo> {
  return {
    cpuModel: cpuModel(),
    cores: cpus().length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: await redis.version(),
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: Math.round(loadAverage * 100) / 100,
  };
}

export function machineLine(machine: MachineInfo): string {
  return (
    `machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ` +
    `Node ${machine.node}; Redis ${machine.redis}; ${machine.platform}; ` +
    `load average ${machine.loadAverageAtStart.toFixed(2)} at start`
  );
}

/** A warning line when other processes already keep the cores busy, else null. */
export function loadWarning(machine: MachineInfo): string | null {
  if (machine.loadAverageAtStart < machine.cores * 0.25) return null;
  return (
    `warning: load average ${machine.loadAverageAtStart.toFixed(2)} on ${machine.cores} cores ` +
    'before the run: other processes compete for the CPU and every figure will be lower'
  );
}
