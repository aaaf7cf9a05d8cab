/**
 * The runner's side of the peer workloads (w1..w4): the service and each peer measured in
 * alternating rounds, figures against the best peer (and one per peer), checks and notes.
 */
import type { Measured } from '../children';
import type { BenchContext } from '../context';
import { perUnit } from '../cpu';
import { figure, type Check, type Figure, type Target, type Unit } from '../report';
import { PEER_LABELS, type PeerId } from './peers';

export type SystemId = 'service' | PeerId;

export const SYSTEM_LABELS: Readonly<Record<SystemId, string>> = {
  service: 'service',
  ...PEER_LABELS,
};

/** Measured rounds per system; the measured time (--duration) is split evenly between them. */
export const PEER_ROUNDS = 3;
/** The warm-up of every round after a system's first, whose warm-up is the run's. */
const LATER_WARMUP_MS = 1_000;

export interface RoundSpec {
  round: number;
  warmupMs: number;
  durationMs: number;
}

export interface SystemRuns<R> {
  rounds: Measured<R>[];
  /** Why a peer stopped being measured (it failed in a round), else null. */
  error: string | null;
}

export function roundLength(context: BenchContext): number {
  return Math.max(1000, Math.round(context.options.durationMs / PEER_ROUNDS));
}

/**
 * Runs `run` for every system, PEER_ROUNDS times, in the order given, then reversed, then
 * as given again, so that a machine whose speed moves during the run weighs on all alike. A
 * service failure ends the scenario; a failing peer is recorded and left out of later rounds.
 */
export async function alternatingRounds<R>(
  context: BenchContext,
  systems: SystemId[],
  run: (system: SystemId, spec: RoundSpec) => Promise<Measured<R>>,
): Promise<Map<SystemId, SystemRuns<R>>> {
  const { warmupMs } = context.options;
  const durationMs = roundLength(context);
  const outcome = new Map<SystemId, SystemRuns<R>>(
    systems.map((system) => [system, { rounds: [], error: null }]),
  );
  for (let round = 0; round < PEER_ROUNDS; round++) {
    for (const system of round % 2 === 0 ? systems : [...systems].reverse()) {
      const runs = outcome.get(system) as SystemRuns<R>;
      if (runs.error !== null) continue;
      context.log(`round ${round + 1}/${PEER_ROUNDS}: ${SYSTEM_LABELS[system]}`);
      const spec: RoundSpec = {
        round,
        warmupMs: round === 0 ? warmupMs : Math.min(warmupMs, LATER_WARMUP_MS),
        durationMs,
      };
      try {
        runs.rounds.push(await run(system, spec));
      } catch (error) {
        if (system === 'service') throw error;
        runs.error = (error as Error).message.split('\n').slice(0, 3).join(' ');
        context.log(`${SYSTEM_LABELS[system]} failed: ${runs.error}`);
      }
    }
  }
  return outcome;
}

/** The median (the mean of the middle two for an even count); NaN for none. */
export function median(values: number[]): number {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** One note: every system's CPU per unit of work over its measured phases. */
export function cpuNote(
  entries: Array<{ system: SystemId; cpuMs: Record<string, number>; units: number }>,
  unit: string,
): string {
  const parts = entries.map(({ system, cpuMs, units }) => {
    const per = Object.entries(perUnit(cpuMs, units))
      .map(([name, ms]) => `${name} ${(ms * 1000).toFixed(0)} us`)
      .join(', ');
    return `${SYSTEM_LABELS[system]}: ${per}`;
  });
  return `CPU per ${unit} in the measured phases: ${parts.join('; ')}`;
}

/** "service 5,100 / 5,300 / 5,200; RabbitMQ ..." */
export function roundsNote(
  what: string,
  perRound: Map<SystemId, number[]>,
  format: (value: number) => string,
): string {
  const parts = [...perRound].map(
    ([system, values]) => `${SYSTEM_LABELS[system]} ${values.map(format).join(' / ')}`,
  );
  return `${what} per round: ${parts.join('; ')}`;
}

export interface SystemValue {
  system: SystemId;
  value: number;
}

/** The median of each system's values per round: the service's, and each peer's. */
export function medians(perRound: Map<SystemId, number[]>): {
  service: number;
  peers: SystemValue[];
} {
  return {
    service: median(perRound.get('service') ?? []),
    peers: [...perRound]
      .filter(([system]) => system !== 'service')
      .map(([system, values]) => ({ system, value: median(values) })),
  };
}

/**
 * The workload's figures: the service against the best peer (highest for a rate, lowest for
 * a latency) or against `against`, with `target`; then one INFO figure per peer. A latency
 * target "no worse than the best peer" is the service's value <= the peer's (ratio <= 1).
 */
export function peerFigures(options: {
  scenario: string;
  what: string;
  unit: Unit;
  service: number;
  peers: SystemValue[];
  better: 'higher' | 'lower';
  /** Compare with this peer instead of the best one. */
  against?: PeerId;
  target: Target | 'no worse' | null;
  details?: Record<string, unknown>;
}): Figure[] {
  const { scenario, what, unit, service, peers, better, against } = options;
  const measured = peers.filter((peer) => Number.isFinite(peer.value));
  let baseline: SystemValue | undefined;
  if (against) baseline = measured.find((peer) => peer.system === against);
  else
    baseline = [...measured].sort((a, b) =>
      better === 'higher' ? b.value - a.value : a.value - b.value,
    )[0];
  let target: Target | null = null;
  if (baseline && options.target === 'no worse')
    target = { on: 'value', op: better === 'higher' ? '>=' : '<=', value: baseline.value };
  else if (baseline && options.target !== 'no worse') target = options.target;
  const baselineLabel = baseline
    ? `${against ? '' : 'best: '}${SYSTEM_LABELS[baseline.system]}`
    : `${against ? SYSTEM_LABELS[against] : 'a peer'} (not run)`;
  return [
    figure(
      scenario,
      what,
      service,
      unit,
      { label: baselineLabel, value: baseline?.value ?? NaN },
      target,
      options.details,
    ),
    ...measured.map((peer) =>
      figure(
        scenario,
        `${what}, vs ${SYSTEM_LABELS[peer.system]}`,
        service,
        unit,
        { label: SYSTEM_LABELS[peer.system], value: peer.value },
        null,
      ),
    ),
  ];
}

/** A peer that failed in a round: a failed check, as any run that could not be measured. */
export function failedPeerCheck(scenario: string, system: SystemId, error: string): Check {
  return {
    scenario,
    name: `${SYSTEM_LABELS[system]} ran every round`,
    ok: false,
    detail: error,
  };
}
