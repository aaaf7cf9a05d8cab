import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * Where `npm run build` puts the console's files (Vite, console/vite.config.mts): the same
 * two levels above this file whether it runs from src/console or dist/console.
 */
export const CONSOLE_ASSETS_DIR = join(__dirname, '..', '..', 'dist', 'public', 'console');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.map': 'application/json',
};

/** Types worth compressing: text, which shrinks to a quarter or less. */
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.json', '.svg', '.map', '.ttf']);

export interface ConsoleAsset {
  body: Buffer;
  /** The gzip of `body` where it is worth sending instead; null otherwise. */
  gzipped: Buffer | null;
  type: string;
  etag: string;
  /** Named by the hash of its content (under assets/): cached for good. */
  immutable: boolean;
}

/**
 * The built console, read once: every file by its path under /console ('' for the page,
 * 'graphiql' for the explorer, 'assets/…' for the rest). Empty when the console is not built.
 */
export function loadConsoleAssets(dir = CONSOLE_ASSETS_DIR): Map<string, ConsoleAsset> {
  const assets = new Map<string, ConsoleAsset>();
  if (!existsSync(join(dir, 'index.html'))) return assets;
  for (const file of walk(dir)) {
    const path = relative(dir, file).split(sep).join('/');
    const extension = extname(file);
    const body = readFileSync(file);
    const gzipped = COMPRESSIBLE.has(extension) && body.length > 1024 ? gzipSync(body) : null;
    const asset: ConsoleAsset = {
      body,
      gzipped: gzipped && gzipped.length < body.length ? gzipped : null,
      type: TYPES[extension] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
      immutable: path.startsWith('assets/'),
    };
    // The pages answer at their folder's path: /console and /console/graphiql.
    const route = path === 'index.html' ? '' : path.replace(/(^|\/)index\.html$/, '');
    assets.set(route, asset);
  }
  return assets;
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}
