/**
 * The runner's side of the peer workloads (w1..w4): the service and each peer measured in
 * alternating rounds, figures against the best peer (and one per peer), checks and notes.
 */
import type { Measured } from '../children';
import type { BenchContext } from '../context';
import { describePerUnit, perUnit } from '../cpu';
import { figure, formatNumber, type Check, type Figure, type Target, type Unit } from '../report';
import { PEER_IDS, PEER_LABELS, type PeerId } from './peers';

export type SystemId = 'service' | PeerId;

/**
 * What the rounds measure: the systems, the service over graphql-ws beside it over HTTP
 * (another front door for the sends, to a service and Redis of its own), and in w3 the bare
 * relay through Redis (servers/redis-relay.ts), the floor of the service's path.
 */
export type RoundSystem = SystemId | 'service-ws' | 'relay';

/** The service's two front doors, each measured as a system of its own. */
export type ServiceFront = Extract<RoundSystem, 'service' | 'service-ws'>;

export const SYSTEM_LABELS: Readonly<Record<RoundSystem, string>> = {
  service: 'service',
  'service-ws': 'service over graphql-ws',
  relay: 'bare relay through Redis',
  ...PEER_LABELS,
};

function isPeer(system: RoundSystem): system is PeerId {
  return (PEER_IDS as readonly string[]).includes(system);
}

/** The peer a round system is; throws for the service's fronts and the relay. */
export function asPeer(system: RoundSystem): PeerId {
  if (!isPeer(system)) throw new Error(`${system} is not a peer`);
  return system;
}

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
 * service failure ends the scenario; a failing peer (or the service over graphql-ws, an extra
 * figure) is recorded and left out of later rounds.
 */
export async function alternatingRounds<R, S extends RoundSystem>(
  context: BenchContext,
  systems: S[],
  run: (system: S, spec: RoundSpec) => Promise<Measured<R>>,
): Promise<Map<S, SystemRuns<R>>> {
  const { warmupMs } = context.options;
  const durationMs = roundLength(context);
  const outcome = new Map<S, SystemRuns<R>>(
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
export function cpuNote(entries: SystemCpu[], unit: string): string {
  const parts = entries.map(
    ({ system, cpuMs, units }) => `${SYSTEM_LABELS[system]}: ${describePerUnit(cpuMs, units)}`,
  );
  return `CPU per ${unit} in the measured phases: ${parts.join('; ')}`;
}

/** One system's CPU over its measured phases and the units of work they did. */
export interface SystemCpu {
  system: RoundSystem;
  cpuMs: Record<string, number>;
  units: number;
}

/**
 * What the target of a throughput workload leaves the service of the machine's CPU: at the
 * target rate (`ratio` times the best peer's median), `cores` give every process together
 * `cores` seconds of CPU a second, so at most that over the rate per message; the service's
 * storage ("redis") and load generator ("client") spent their part of it in this run, and the
 * rest is all the service itself could spend. It is an upper bound: it counts both cores as
 * fully usable. Null when no peer ran.
 */
export function budgetNote(
  perRound: Map<RoundSystem, number[]>,
  ratio: number,
  cores: number,
  services: SystemCpu[],
): string | null {
  const best = Math.max(...medians(perRound).peers.map((peer) => peer.value));
  if (!Number.isFinite(best) || best <= 0 || services.length === 0) return null;
  const rate = best * ratio;
  const budgetUs = (cores * 1_000_000) / rate;
  const us = (ms: number): string => `${Math.round(ms * 1000)} us`;
  const parts = services.map(({ system, cpuMs, units }) => {
    const per = perUnit(cpuMs, units);
    const others = (per.redis ?? 0) + (per.client ?? 0);
    const room = budgetUs / 1000 - others;
    return (
      `${SYSTEM_LABELS[system]}: its Redis and load generator ${us(others)}, leaving ` +
      `${room > 0 ? us(room) : `none (${us(room)})`} for the service, which spent ${us(per.service ?? NaN)}`
    );
  });
  return (
    `CPU a message may cost in all at the target (${ratio.toFixed(2)} x ` +
    `the best peer's ${formatNumber(best, 'msg/s')} = ${formatNumber(rate, 'msg/s')} msg/s): at most ` +
    `${Math.round(budgetUs)} us on ${cores} cores; ${parts.join('; ')}`
  );
}

/** "service 5,100 / 5,300 / 5,200; RabbitMQ ..." */
export function roundsNote(
  what: string,
  perRound: Map<RoundSystem, number[]>,
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

/**
 * The median of each system's values per round: the service's (over HTTP), each peer's,
 * and the service's over graphql-ws when it ran (NaN otherwise).
 */
export function medians(perRound: Map<RoundSystem, number[]>): {
  service: number;
  serviceWs: number;
  peers: SystemValue[];
} {
  const peers: SystemValue[] = [];
  for (const [system, values] of perRound)
    if (isPeer(system)) peers.push({ system, value: median(values) });
  return {
    service: median(perRound.get('service') ?? []),
    serviceWs: median(perRound.get('service-ws') ?? []),
    peers,
  };
}

/** What a workload's figures compare: the service's median, the peers', the target. */
export interface PeerFigureOptions {
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
}

/**
 * The workload's figures: the service against the best peer (highest for a rate, lowest for
 * a latency) or against `against`, with `target`; then one INFO figure per peer. A latency
 * target "no worse than the best peer" is the service's value <= the peer's (ratio <= 1).
 */
export function peerFigures(options: PeerFigureOptions): Figure[] {
  const { scenario, what, unit, service, peers } = options;
  const measured = peers.filter((peer) => Number.isFinite(peer.value));
  return [
    bestPeerFigure(options),
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

/**
 * The figures of the service over graphql-ws: against the best peer (or `against`) with the
 * workload's target, as the service's own line, then an INFO line against the service over
 * HTTP in the same run, which tells what the transport changes.
 */
export function webSocketFigures(options: PeerFigureOptions & { serviceWs: number }): Figure[] {
  const { scenario, what, unit, service, serviceWs } = options;
  const label = `${what}, ${SYSTEM_LABELS['service-ws']}`;
  return [
    // The details (every system's rounds) are the service's line's.
    bestPeerFigure({ ...options, what: label, service: serviceWs, details: undefined }),
    figure(
      scenario,
      `${label}, vs HTTP`,
      serviceWs,
      unit,
      { label: 'service over HTTP', value: service },
      null,
    ),
  ];
}

/**
 * A workload's figures from each system's values per round, on their medians: the service's
 * (peerFigures), then the service over graphql-ws' when it ran (webSocketFigures).
 */
export function workloadFigures(
  perRound: Map<RoundSystem, number[]>,
  options: Omit<PeerFigureOptions, 'service' | 'peers'>,
): Figure[] {
  const { service, serviceWs, peers } = medians(perRound);
  const figures = peerFigures({ ...options, service, peers });
  if (perRound.has('service-ws'))
    figures.push(...webSocketFigures({ ...options, service, peers, serviceWs }));
  return figures;
}

/** `service` against the best peer (or `against`), with the target. */
export function bestPeerFigure(options: PeerFigureOptions): Figure {
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
  return figure(
    scenario,
    what,
    service,
    unit,
    { label: baselineLabel, value: baseline?.value ?? NaN },
    target,
    options.details,
  );
}

/** A peer that failed in a round: a failed check, as any run that could not be measured. */
export function failedPeerCheck(scenario: string, system: RoundSystem, error: string): Check {
  return {
    scenario,
    name: `${SYSTEM_LABELS[system]} ran every round`,
    ok: false,
    detail: error,
  };
}
