/** What a scenario measured: figures against baselines from the same run, and checks. */

export type Unit = 'req/s' | 'msg/s' | 'deliveries/s' | 'ms' | 'MB';

/** A figure's target: on the figure itself, or on its ratio to the baseline. */
export type Target =
  { on: 'ratio'; op: '>='; value: number } | { on: 'value'; op: '>=' | '<=' | '<'; value: number };

export interface Figure {
  scenario: string;
  label: string;
  value: number;
  unit: Unit;
  baseline: { label: string; value: number };
  /** value / baseline value. */
  ratio: number;
  target: Target | null;
  /** null for an informative figure (no target). */
  pass: boolean | null;
  /** Further measurements of the same run, for the JSON report. */
  details?: Record<string, unknown>;
}

/** A correctness check (exactly-once and the like): a failed one fails the run. */
export interface Check {
  scenario: string;
  name: string;
  ok: boolean;
  detail: string;
}

export interface ScenarioOutcome {
  figures: Figure[];
  checks: Check[];
  /** Anything else worth keeping (setup facts, service warnings). */
  notes: string[];
}

function meets(value: number, op: '>=' | '<=' | '<', bound: number): boolean {
  if (op === '>=') return value >= bound;
  if (op === '<=') return value <= bound;
  return value < bound;
}

export function figure(
  scenario: string,
  label: string,
  value: number,
  unit: Unit,
  baseline: { label: string; value: number },
  target: Target | null,
  details?: Record<string, unknown>,
): Figure {
  const ratio = value / baseline.value;
  const pass =
    target === null ? null : meets(target.on === 'ratio' ? ratio : value, target.op, target.value);
  return { scenario, label, value, unit, baseline, ratio, target, pass, details };
}

export function formatNumber(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'ms') return value < 10 ? value.toFixed(2) : value.toFixed(1);
  if (unit === 'MB') return value.toFixed(1);
  return Math.round(value).toLocaleString('en-US');
}

function formatTarget(target: Target | null, unit: Unit): string {
  if (!target) return 'target -';
  if (target.on === 'ratio') return `target >= ${target.value.toFixed(2)}`;
  return `target ${target.op} ${formatNumber(target.value, unit)} ${unit}`;
}

/** One line: the figure, its baseline, the ratio, the target and PASS / FAIL / INFO. */
export function figureLine(f: Figure): string {
  const status = f.pass === null ? 'INFO' : f.pass ? 'PASS' : 'FAIL';
  return [
    `${f.scenario}  ${f.label.padEnd(50)}`,
    `${formatNumber(f.value, f.unit).padStart(9)} ${f.unit.padEnd(12)}`,
    `baseline ${`${f.baseline.label} ${formatNumber(f.baseline.value, f.unit)} ${f.unit}`.padEnd(44)}`,
    `ratio ${Number.isFinite(f.ratio) ? f.ratio.toFixed(2) : 'n/a'}`.padEnd(11),
    formatTarget(f.target, f.unit).padEnd(28),
    status,
  ].join(' ');
}

export function checkLine(c: Check): string {
  return `   ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`;
}

/** Memory figures are in MB of 10^6 bytes (the stricter reading of a "300 MB" target). */
export const MB = 1_000_000;
