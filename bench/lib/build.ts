import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from './children';

/**
 * The bench runs its own build of the service, not dist/: `npm run build` starts with
 * `rm -rf dist`, so a build or a test run elsewhere in the work tree would pull the files
 * from under a running benchmark (and a bench build would do the same to them). The build
 * is the same (tsc -p tsconfig.build.json, plus the Lua scripts, as scripts/copy-lua.js
 * does), written under node_modules/.cache, where Node still resolves the project's
 * packages.
 */
export const BUILD_DIR = join(REPO_DIR, 'node_modules', '.cache', 'mailbox-bench');
export const SERVICE_DIST = join(BUILD_DIR, 'dist');
export const SERVICE_MAIN = join(SERVICE_DIST, 'main.js');
const STAMP = join(BUILD_DIR, 'built-from.json');

/** What the build reads: a change to any of these makes the bench build again. */
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package-lock.json'];

/** The newest modification time of a file, or of any file under a directory. */
function newest(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let time = 0;
  for (const entry of readdirSync(path)) time = Math.max(time, newest(join(path, entry)));
  return time;
}

/** Builds the service into SERVICE_DIST unless the last bench build is still current. */
export function buildService(log: (line: string) => void): void {
  const sources = Math.max(...INPUTS.map((input) => newest(join(REPO_DIR, input))));
  if (existsSync(SERVICE_MAIN) && existsSync(STAMP)) {
    const stamp = JSON.parse(readFileSync(STAMP, 'utf8')) as { sources: number };
    if (stamp.sources >= sources) return;
  }
  log(`building the service into ${SERVICE_DIST.slice(REPO_DIR.length + 1)}`);
  rmSync(SERVICE_DIST, { recursive: true, force: true });
  mkdirSync(SERVICE_DIST, { recursive: true });
  const tsc = join(REPO_DIR, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = spawnSync(
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', SERVICE_DIST],
    { cwd: REPO_DIR, stdio: ['ignore', 2, 2] },
  );
  if (build.status !== 0) {
    throw new Error(`the service does not build (tsc exited ${build.status ?? build.signal})`);
  }
  cpSync(join(REPO_DIR, 'src', 'redis', 'lua'), join(SERVICE_DIST, 'redis', 'lua'), {
    recursive: true,
  });
  // The newest input as read before the build: an edit made during it means another build.
  writeFileSync(STAMP, JSON.stringify({ sources, builtAt: new Date().toISOString() }));
}
