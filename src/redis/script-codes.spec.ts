import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as codes from './script-codes';

const luaDirectory = join(__dirname, 'lua');

/** Each script's header comment: its leading lines of `--` comments (after a `#!lua` line). */
function header(file: string): string {
  const lines = readFileSync(join(luaDirectory, file), 'utf8').split('\n');
  const start = lines[0].startsWith('#!') ? 1 : 0;
  const end = lines.findIndex((line, index) => index >= start && !line.startsWith('--'));
  return lines.slice(start, end).join('\n');
}

/** The code each header cites, as in `-- Returns EnqueueCode (src/redis/script-codes.ts): ...`. */
function citations(): Array<[string, string]> {
  return readdirSync(luaDirectory)
    .filter((file) => file.endsWith('.lua'))
    .flatMap((file) =>
      [...header(file).matchAll(/(\w+Code) \(src\/redis\/script-codes\.ts\)/g)].map(
        (match): [string, string] => [file, match[1]],
      ),
    );
}

describe('script codes', () => {
  it('are cited by script headers', () => {
    expect(citations().length).toBeGreaterThan(0);
  });

  it.each(citations())('%s cites %s, which script-codes.ts defines', (_file, name) => {
    expect(Object.keys(codes)).toContain(name);
  });

  it('are numbers, each name of one code meaning one value', () => {
    for (const [name, values] of Object.entries(codes)) {
      const numbers = Object.values(values as Record<string, unknown>);
      expect(numbers.every((value) => Number.isInteger(value))).toBe(true);
      expect(new Set(numbers).size).toBe(numbers.length);
      expect(name).toMatch(/Code$/);
    }
  });
});
