#!/usr/bin/env node
// Runs test/windows/smoke.js under the official Windows node.exe (pinned in
// scripts/node-versions.json as `windows`, installed from the npm registry
// by scripts/node.js) through Wine, and checks that every check passed.
//
//   node scripts/windows-smoke.js            # needs wine64 and dist/ (npm run build:ts)
//
// Wine's node.exe wants NODE_SKIP_PLATFORM_CHECK=1, stdin from /dev/null and
// stdout/stderr in files (a Unix pipe gives EBADF). The run is bounded; when
// Wine itself flakes (the run is killed at the bound, Wine exits with a
// status of its own, or no check reported at all) it is retried once, and
// the output says so. A check that fails is a failure, never retried.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const BOUND_S = Number(process.env.FORKFUL_WINDOWS_SMOKE_TIMEOUT || 600);

function wine() {
  for (const candidate of ['/usr/lib/wine/wine64', 'wine64', 'wine']) {
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8', timeout: 60000 });
    if (r.status === 0) return candidate;
  }
  throw new Error('wine64 is not installed (Debian: apt-get install wine64)');
}

function nodeExe() {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'node.js'), 'windows', '--path'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: 15 * 60 * 1000,
  });
  if (r.status !== 0)
    throw new Error('could not install the Windows node.exe (scripts/node.js windows)');
  const home = r.stdout.trim().split('\n').pop();
  for (const rel of ['node.exe', path.join('bin', 'node.exe')]) {
    if (fs.existsSync(path.join(home, rel))) return path.join(home, rel);
  }
  throw new Error(`no node.exe under ${home}`);
}

/** Wine's Z: drive is the Unix root. */
function winPath(p) {
  return `Z:${path.resolve(p).split(path.sep).join('\\')}`;
}

function runOnce(winePath, exe, attempt) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkful-winsmoke-'));
  const outFile = path.join(dir, 'stdout.txt');
  const errFile = path.join(dir, 'stderr.txt');
  const out = fs.openSync(outFile, 'w');
  const err = fs.openSync(errFile, 'w');
  const t0 = Date.now();
  const r = spawnSync(winePath, [exe, winPath(path.join(root, 'test', 'windows', 'smoke.js'))], {
    cwd: root,
    stdio: ['ignore', out, err],
    timeout: BOUND_S * 1000,
    killSignal: 'SIGKILL',
    env: { ...process.env, NODE_SKIP_PLATFORM_CHECK: '1', WINEDEBUG: '-all' },
  });
  fs.closeSync(out);
  fs.closeSync(err);
  const stdout = fs.readFileSync(outFile, 'utf8');
  const stderr = fs.readFileSync(errFile, 'utf8');
  fs.rmSync(dir, { recursive: true, force: true });
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  const timedOut = r.error && r.error.code === 'ETIMEDOUT';
  const reported = /^(ok|FAIL) /m.test(stdout);
  const flake = timedOut || (r.status !== 0 && r.status !== 1) || !reported;
  console.log(
    `--- attempt ${attempt}: exit ${r.status ?? r.signal}, ${seconds} s${timedOut ? ` (killed at ${BOUND_S} s)` : ''}`,
  );
  process.stdout.write(stdout);
  if (stderr.trim()) process.stdout.write(`--- stderr\n${stderr}`);
  return { passed: r.status === 0 && /^smoke: all checks passed$/m.test(stdout), flake };
}

function main() {
  if (!fs.existsSync(path.join(root, 'dist', 'index.js'))) {
    console.error('dist/ is missing: run `npm run build:ts` first');
    return 2;
  }
  const winePath = wine();
  const exe = nodeExe();
  console.log(`Windows smoke: ${exe} under ${winePath}`);
  let r = runOnce(winePath, exe, 1);
  if (!r.passed && r.flake) {
    console.log('Wine flaked (see above): retrying once');
    r = runOnce(winePath, exe, 2);
  }
  console.log(r.passed ? 'Windows smoke passed' : 'Windows smoke FAILED');
  return r.passed ? 0 : 1;
}

process.exitCode = main();
