// Jest globalSetup: fixtures, spawned children, Thread bootstraps and the
// fresh-process helper run dist/, while test files import lib/ through
// ts-jest. So before any test, dist/ is brought up to date with lib/: an
// incremental tsc (its .tsbuildinfo makes a run with nothing changed cost
// about a second), then every file of dist/ whose source is gone is removed
// (tsc never deletes outputs, and a stale module must not pass a test).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..', '..');

function removeOrphans(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      removeOrphans(file);
      if (fs.readdirSync(file).length === 0) fs.rmdirSync(file);
      continue;
    }
    const m = /^(.*)\.(js|js\.map|d\.ts)$/.exec(entry.name);
    if (!m) continue;
    const source = path.join(
      root,
      'lib',
      path.relative(path.join(root, 'dist'), dir),
      `${m[1]}.ts`,
    );
    if (!fs.existsSync(source)) fs.rmSync(file);
  }
}

module.exports = function globalSetup() {
  const started = Date.now();
  execFileSync(
    process.execPath,
    [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  const dist = path.join(root, 'dist');
  if (fs.existsSync(dist)) removeOrphans(dist);
  if (process.env.FORKFUL_DEBUG_SETUP) {
    process.stderr.write(`\ndist/ brought up to date in ${Date.now() - started} ms\n`);
  }
};
