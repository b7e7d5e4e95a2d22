#!/usr/bin/env node
// npm run asan [-- --no-build] [-- --only stress|jest] [-- <jest test paths>]
// Builds the addon with AddressSanitizer and UndefinedBehaviorSanitizer into
// build-asan/ (cmake-js, the same sources as binding.gyp; build/ is left
// alone), then runs the short stress suite and a set of jest files with that
// binary (FORKFUL_PREBUILD) and the sanitizer runtimes preloaded (Node itself
// is not instrumented, so they must load first). Every process the runs
// start (forks, spawned children, Pool workers) inherits both. Any report
// fails the run: UBSan halts on its first finding, ASan on its first error;
// leak checking is off (Node frees little at exit by design).
// Exit status 0 when clean.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const binary = path.join(root, 'build-asan', 'Release', 'forkful.node');
const args = process.argv.slice(2);
const noBuild = args.includes('--no-build');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1] : null;
// Every argument that is not an option nor --only's value (without --only,
// onlyAt + 1 is 0: the first test path was dropped).
const testPaths = args.filter((a, i) => !a.startsWith('--') && (onlyAt < 0 || i !== onlyAt + 1));

/** The jest files run by default: the fault and fork-heavy ones. */
const DEFAULT_TESTS = [
  'test/reliability',
  'test/multiprocessing/queue',
  'test/multiprocessing/connection.test.ts',
  'test/synchronize/sync-processes.test.ts',
  'test/os/os.test.ts', // (os-dontfork counts mappings: the sanitizers add their own)
];

const FLAGS =
  '-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1';

function run(what, cmd, cmdArgs, env) {
  process.stdout.write(`\n--- ${what}: ${cmd} ${cmdArgs.join(' ')}\n`);
  const t0 = Date.now();
  const r = spawnSync(cmd, cmdArgs, {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  process.stdout.write(out.length > 20000 ? `...\n${out.slice(-20000)}` : out);
  // A finding in a child may not change the parent's exit status: look for it.
  const findings = out
    .split('\n')
    .filter((l) =>
      /ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)/.test(l),
    );
  const seconds = (Date.now() - t0) / 1000;
  process.stdout.write(
    `--- ${what}: exit ${r.status ?? r.signal}, ${findings.length} sanitizer finding(s), ${seconds} s\n`,
  );
  return { ok: r.status === 0 && findings.length === 0, findings };
}

function sanitizerLib(name) {
  const r = spawnSync('gcc', [`-print-file-name=${name}`], { encoding: 'utf8' });
  const file = (r.stdout || '').trim();
  if (r.status !== 0 || !path.isAbsolute(file) || !fs.existsSync(file)) {
    throw new Error(
      `${name} not found (gcc -print-file-name=${name}): install gcc's sanitizer runtimes`,
    );
  }
  return file;
}

function main() {
  if (!noBuild || !fs.existsSync(binary)) {
    const built = run('build (ASan + UBSan) into build-asan/', 'npx', [
      'cmake-js',
      'compile',
      '--out',
      'build-asan',
      `--CDCMAKE_CXX_FLAGS=${FLAGS}`,
      '--CDCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined',
    ]);
    if (!built.ok) process.exit(1);
  }
  const env = {
    LD_PRELOAD: `${sanitizerLib('libasan.so')} ${sanitizerLib('libubsan.so')}`,
    ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:allow_user_segv_handler=1',
    UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
    FORKFUL_PREBUILD: binary,
  };
  const results = [];
  if (!only || only === 'stress') {
    results.push(
      run('npm run stress:short', process.execPath, ['scripts/stress.js', '--short'], env),
    );
  }
  if (!only || only === 'jest') {
    const tests = testPaths.length > 0 ? testPaths : DEFAULT_TESTS;
    results.push(
      run('jest', process.execPath, ['node_modules/.bin/jest', '-w', '1', ...tests], env),
    );
  }
  const clean = results.every((r) => r.ok);
  process.stdout.write(`\nASan + UBSan: ${clean ? 'clean' : 'NOT clean'}\n`);
  process.exit(clean ? 0 : 1);
}

main();
