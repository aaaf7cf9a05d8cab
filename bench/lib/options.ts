import type { BenchOptions } from './context';

export const USAGE = `npm run bench [-- options]

  --only=a,b       run these scenarios only (letters or names: a ingress, b batch, c router,
                   d e2e, e fanout, f memory, g search, h conversations, i mcp, j guards,
                   k console, l listings, w1 to w4, or w for all four)
  --duration=<s>   length of each measured phase in seconds (default 10)
  --warmup=<s>     length of the warm-up before each measured phase (default 3)
  --strict         exit 1 when a target is missed too (by default only a failed check does)
  --help           this text`;

export class UsageError extends Error {}

function seconds(name: string, value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > 3600) {
    throw new UsageError(`--${name}=${value}: expected seconds between 0 and 3600`);
  }
  return parsed;
}

/** Parses the command line; throws UsageError for anything it does not know. */
export function parseOptions(argv: string[], known: Map<string, string>): BenchOptions | null {
  const options: BenchOptions = { only: null, durationMs: 10_000, warmupMs: 3_000, strict: false };
  for (const argument of argv) {
    const [flag, value] = argument.split(/=(.*)/s, 2);
    if (flag === '--help' || flag === '-h') return null;
    if (flag === '--strict' && value === undefined) options.strict = true;
    else if (flag === '--duration' && value !== undefined) {
      options.durationMs = seconds('duration', value) * 1000;
      if (options.durationMs < 1000) throw new UsageError('--duration: at least 1 second');
    } else if (flag === '--warmup' && value !== undefined)
      options.warmupMs = seconds('warmup', value) * 1000;
    else if (flag === '--only' && value !== undefined) {
      const ids = value
        .split(',')
        .map((name) => name.trim().toLowerCase())
        .filter(Boolean);
      const unknown = ids.filter((id) => !known.has(id));
      if (ids.length === 0 || unknown.length > 0) {
        throw new UsageError(`--only: unknown scenario ${unknown.join(', ') || '(none given)'}`);
      }
      options.only = [...new Set(ids.map((id) => known.get(id) as string))];
    } else throw new UsageError(`unknown option ${argument}`);
  }
  return options;
}
