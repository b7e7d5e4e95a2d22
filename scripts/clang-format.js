#!/usr/bin/env node
// Formats native/*.{cc,h} with the clang-format binary shipped by the npm
// package; with --check, lists the files that differ and exits 1.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const bin = require.resolve('clang-format/index.js');
const files = fs
  .readdirSync(path.join(root, 'native'))
  .filter((f) => /\.(cc|h)$/.test(f))
  .map((f) => path.join('native', f));
const check = process.argv.includes('--check');
let differ = 0;
for (const file of files) {
  const formatted = execFileSync(process.execPath, [bin, '--style=file', file], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const current = fs.readFileSync(path.join(root, file), 'utf8');
  if (formatted === current) continue;
  if (check) {
    differ++;
    console.log(`not formatted: ${file}`);
  } else {
    fs.writeFileSync(path.join(root, file), formatted);
  }
}
process.exitCode = differ === 0 ? 0 : 1;
