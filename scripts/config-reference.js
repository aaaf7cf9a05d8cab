// Renders the configuration reference from the declarations in src/config/environment.ts:
// the table between the markers in docs/operations/configuration.md, and .env.example.
// It reads the compiled declarations, so `npm run build` comes first (`npm run docs:config`
// does both). With --check it writes nothing and exits 1 when either file differs from what
// it would write: CI runs that, so the docs cannot drift from the declarations.
'use strict';

const { existsSync, readFileSync, writeFileSync } = require('node:fs');
const { join, posix } = require('node:path');

const root = join(__dirname, '..');
const REFERENCE_FILE = 'docs/operations/configuration.md';
const ENV_EXAMPLE_FILE = '.env.example';
// Where the doc texts' relative links resolve from, so .env.example can name the full path.
const REFERENCE_DIR = posix.dirname(REFERENCE_FILE);

const START_MARKER = '<!-- config-reference:start -->';
const END_MARKER = '<!-- config-reference:end -->';
const GENERATED_NOTE =
  '<!-- Generated from src/config/environment.ts by `npm run docs:config`: edit the texts there. -->';

const ENV_EXAMPLE_HEADER = [
  '# Every variable the service reads, set to its default; those without one are commented out.',
  '# Generated from src/config/environment.ts by `npm run docs:config`: edit the texts there.',
  '# The service reads the process environment only: load this with',
  '#   cp .env.example .env && set -a && . ./.env && set +a && npm start',
  '# or give it to Docker Compose as an env_file. An empty value means "unset".',
  '# Seconds may be fractions (0.2); booleans accept true/false, 1/0, yes/no, on/off.',
];
const COMMENT_WIDTH = 100;

/**
 * @typedef {object} ReferenceEntry
 * @property {string} name
 * @property {string} group
 * @property {string} doc Markdown.
 * @property {string} [whenUnset] Markdown.
 * @property {string | number | boolean | undefined} defaultValue
 */

/** @param {string} text */
function tableCell(text) {
  return text.replace(/\|/g, '\\|');
}

/** @param {ReferenceEntry} entry */
function defaultCell(entry) {
  if (entry.defaultValue === undefined) return entry.whenUnset ?? 'none';
  if (entry.defaultValue === '') return 'empty';
  return `\`${String(entry.defaultValue)}\``;
}

/**
 * The Markdown table of every variable, as it stands between the markers.
 * @param {readonly ReferenceEntry[]} entries
 */
function renderTable(entries) {
  return [
    '| variable | default | meaning |',
    '| --- | --- | --- |',
    ...entries.map(
      (entry) =>
        `| \`${entry.name}\` | ${tableCell(defaultCell(entry))} | ${tableCell(entry.doc)} |`,
    ),
  ].join('\n');
}

/**
 * Markdown as plain text for a shell comment: code spans lose their backticks, and a link
 * keeps its text and names its target from the repository root.
 * @param {string} markdown
 */
function plainText(markdown) {
  // A sentence starts with a capital, unless it starts with a value (`json`), which keeps its case;
  // one that ends with a value gets no full stop, which would read as part of it.
  const sentence = /^[a-z]/.test(markdown)
    ? markdown.charAt(0).toUpperCase() + markdown.slice(1)
    : markdown;
  const text = sentence
    .split('`')
    .map((part, index) =>
      // Odd parts are inside code spans, where brackets are not links.
      index % 2 === 1
        ? part
        : part.replace(
            /\[([^\]]+)\]\(([^)\s]+)\)/g,
            (_link, label, target) => `${label} (${posix.join(REFERENCE_DIR, target)})`,
          ),
    )
    .join('');
  return /[.`]$/.test(markdown) ? text : `${text}.`;
}

/** @param {string} text */
function commentLines(text) {
  const lines = [];
  let line = '#';
  for (const word of text.split(/\s+/)) {
    if (line !== '#' && line.length + 1 + word.length > COMMENT_WIDTH) {
      lines.push(line);
      line = '#';
    }
    line += ` ${word}`;
  }
  lines.push(line);
  return lines;
}

/** @param {ReferenceEntry} entry */
function assignment(entry) {
  if (entry.defaultValue === undefined) return `# ${entry.name}=`;
  const value = String(entry.defaultValue);
  // Sourced by a shell and read by Docker Compose: a value either would read differently
  // needs quoting rules this file does not have yet.
  if (!/^[A-Za-z0-9_.:/@,+-]*$/.test(value)) {
    throw new Error(`${entry.name}: the default ${JSON.stringify(value)} needs quoting`);
  }
  return `${entry.name}=${value}`;
}

/**
 * The whole of .env.example: the header, then each group after a blank line.
 * @param {readonly ReferenceEntry[]} entries
 */
function renderEnvExample(entries) {
  const lines = [...ENV_EXAMPLE_HEADER];
  let group;
  for (const entry of entries) {
    if (entry.group !== group) lines.push('');
    group = entry.group;
    const unset =
      entry.defaultValue === undefined && entry.whenUnset
        ? ` Unset: ${plainText(entry.whenUnset)}`
        : '';
    lines.push(...commentLines(plainText(entry.doc) + unset), assignment(entry));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * `document` with everything between the two markers replaced by `block`.
 * @param {string} document
 * @param {string} block
 */
function replaceBetweenMarkers(document, block) {
  const once = (marker) => document.split(marker).length === 2;
  const start = document.indexOf(START_MARKER);
  const end = document.indexOf(END_MARKER);
  if (!once(START_MARKER) || !once(END_MARKER) || end < start) {
    throw new Error(`${START_MARKER} and then ${END_MARKER} must each appear once`);
  }
  return (
    document.slice(0, start + START_MARKER.length) +
    `\n${GENERATED_NOTE}\n\n${block}\n\n` +
    document.slice(end)
  );
}

/**
 * The first few lines where `committed` and `generated` differ, for a reader who wants to
 * know what drifted without running a diff.
 * @param {string} committed
 * @param {string} generated
 */
function differences(committed, generated, limit = 3) {
  const before = committed.split('\n');
  const after = generated.split('\n');
  const shown = [];
  let count = 0;
  for (let i = 0; i < Math.max(before.length, after.length) && count < limit; i++) {
    if (before[i] === after[i]) continue;
    count += 1;
    shown.push(
      `  line ${i + 1}:`,
      `  - ${before[i] ?? '(no line)'}`,
      `  + ${after[i] ?? '(no line)'}`,
    );
  }
  return shown.join('\n');
}

function loadReference() {
  const compiled = join(root, 'dist', 'config', 'environment.js');
  if (!existsSync(compiled)) {
    throw new Error('dist/config/environment.js not found: run npm run build first');
  }
  return require(compiled).configurationReference();
}

function main(argv) {
  const check = argv.includes('--check');
  const entries = loadReference();
  const referencePath = join(root, REFERENCE_FILE);
  const envExamplePath = join(root, ENV_EXAMPLE_FILE);
  const committedReference = readFileSync(referencePath, 'utf8');
  const files = [
    {
      name: REFERENCE_FILE,
      path: referencePath,
      committed: committedReference,
      generated: replaceBetweenMarkers(committedReference, renderTable(entries)),
    },
    {
      name: ENV_EXAMPLE_FILE,
      path: envExamplePath,
      committed: existsSync(envExamplePath) ? readFileSync(envExamplePath, 'utf8') : '',
      generated: renderEnvExample(entries),
    },
  ];
  const stale = files.filter((file) => file.committed !== file.generated);
  if (!check) {
    for (const file of stale) writeFileSync(file.path, file.generated);
    console.log(
      stale.length === 0
        ? 'configuration reference: up to date'
        : `wrote ${stale.map((file) => file.name).join(', ')}`,
    );
    return 0;
  }
  for (const file of stale) {
    console.error(
      `${file.name} is out of date with src/config/environment.ts: run npm run docs:config and commit the result`,
    );
    console.error(differences(file.committed, file.generated));
  }
  return stale.length === 0 ? 0 : 1;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (error) {
    console.error(`config-reference: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  }
}

module.exports = { renderTable, renderEnvExample, replaceBetweenMarkers };
