#!/usr/bin/env node
// Rebuilds README.md's "Python -> forkful" table from the per-module tables
// in docs/*.md (each under a heading that starts with "Python"), so the
// README and the module docs never disagree. With --check, exits 1 when the
// README is out of date.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const sources = [
  ['os', null],
  ['multiprocessing', 'docs/multiprocessing.md'],
  ['multiprocessing.Pool', 'docs/pool.md'],
  ['synchronisation and shared memory', 'docs/synchronize.md'],
  ['threading', 'docs/threading.md'],
  ['coroutines (gevent)', 'docs/coroutine.md'],
  ['across machines (Ray, Celery)', 'docs/cluster.md'],
];

function tableUnderPythonHeading(text) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /^##+ Python/.test(l));
  if (start < 0) return null;
  const rows = [];
  for (let i = start + 1; i < lines.length; i++) {
    if (/^#/.test(lines[i])) break;
    if (lines[i].startsWith('|')) rows.push(lines[i]);
    else if (rows.length > 0 && lines[i].trim() === '') break;
  }
  return rows.length > 2 ? rows : null;
}

const begin = '<!-- python-table:start (scripts/readme-table.js) -->';
const end = '<!-- python-table:end -->';
const parts = [begin];
for (const [title, file] of sources) {
  if (!file) {
    parts.push(`### ${title}`, '', 'See [forkful/os](#forkfulos) above.', '');
    continue;
  }
  const rows = tableUnderPythonHeading(fs.readFileSync(path.join(root, file), 'utf8'));
  if (!rows) throw new Error(`${file}: no table under a "## Python..." heading`);
  parts.push(`### ${title} ([${path.basename(file)}](${file}))`, '', ...rows, '');
}
parts.push(end);

const readmePath = path.join(root, 'README.md');
const readme = fs.readFileSync(readmePath, 'utf8');
const a = readme.indexOf(begin);
const b = readme.indexOf(end);
if (a < 0 || b < 0) throw new Error('README.md has no python-table markers');
const updated = readme.slice(0, a) + parts.join('\n') + readme.slice(b + end.length);
if (process.argv.includes('--check')) {
  if (updated !== readme) {
    console.log(
      'README.md: the Python -> forkful table is out of date (node scripts/readme-table.js)',
    );
    process.exitCode = 1;
  }
} else {
  fs.writeFileSync(readmePath, updated);
}
