#!/usr/bin/env node
// npm start: runs every program of the reference article, ported to forkful
// (examples/NN-name.js), in order, each in its own process.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const only = process.argv.slice(2);
const programs = fs
  .readdirSync(__dirname)
  .filter((f) => /^\d\d-.*\.js$/.test(f))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

let failed = 0;
for (const file of programs) {
  console.log(`\n=== ${file} ${'='.repeat(Math.max(0, 60 - file.length))}`);
  const run = spawnSync(process.execPath, [path.join(__dirname, file)], {
    stdio: 'inherit',
    timeout: 60000,
  });
  if (run.status !== 0) {
    failed++;
    const why = run.error ? run.error.message : (run.signal ?? `exit code ${run.status}`);
    console.log(`!!! ${file} failed (${why})`);
  }
}
console.log(`\n${programs.length - failed} of ${programs.length} programs ran.`);
process.exitCode = failed === 0 ? 0 : 1;
