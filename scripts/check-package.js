#!/usr/bin/env node
// Checks the package as a user gets it (CI runs this from .ci/run):
//   1. `npm pack` (prepack makes any missing prebuild), and what is in it:
//      a binary for every pinned Node major and target, and nothing users do
//      not need (no source maps, tsbuildinfo, tests, TypeScript sources);
//   2. publint and @arethetypeswrong/cli on that tarball;
//   3. for each pinned Node major, in a fresh project outside the repository,
//      with no compiler, make or python on PATH: the tarball installed with
//      --ignore-scripts, then with install scripts; a smoke program (os.fork,
//      a Pool map, a Lock shared by processes, a Thread) must run on the fork
//      backend with the prebuilt binary; ESM imports (named and default);
//   4. when no prebuild matches (an Alpine-like LIBC=musl): with a compiler
//      the install compiles the addon; without one the install still
//      succeeds and forkful says why, once, at first use;
//   5. the arm64 prebuilds, each under its Node's arm64 build, through
//      qemu-user-static: the same smoke program.
// Prints the tarball's size. Every step has a time limit.
//
//   node scripts/check-package.js [--majors 24,26] [--no-arm64] [--no-source] [--keep]
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { install, pins, versionOf } = require('./node.js');
const { fileFor, targets } = require('./prebuild-all.js');

const root = path.join(__dirname, '..');
const MINUTE = 60 * 1000;

const opts = { majors: Object.keys(pins.majors), arm64: true, source: true, keep: false };
for (let i = 2; i < process.argv.length; i++) {
  const arg = process.argv[i];
  if (arg === '--majors') opts.majors = process.argv[++i].split(',');
  else if (arg === '--no-arm64') opts.arm64 = false;
  else if (arg === '--no-source') opts.source = false;
  else if (arg === '--keep') opts.keep = true;
  else {
    console.error(`unknown option ${arg} (--majors, --no-arm64, --no-source, --keep)`);
    process.exit(2);
  }
}

let failed = 0;
const started = Date.now();
const ok = (what) => console.log(`ok   ${what}`);
const bad = (what) => {
  failed++;
  console.log(`FAIL ${what}`);
};
const check = (cond, what, detail = '') =>
  cond ? ok(what) : bad(`${what}${detail ? `: ${detail}` : ''}`);
const step = (what) =>
  console.log(`\n--- [${((Date.now() - started) / 1000).toFixed(0)} s] ${what}`);

/** Runs a program with a time limit; returns { status, stdout, stderr }. */
function run(file, args, { cwd, env, timeout = 2 * MINUTE } = {}) {
  const r = spawnSync(file, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  if (r.error?.code === 'ETIMEDOUT' || r.signal === 'SIGTERM') {
    return {
      status: null,
      stdout: r.stdout ?? '',
      stderr: `${r.stderr ?? ''}\n(killed after ${timeout / 1000} s)`,
    };
  }
  if (r.error) return { status: null, stdout: '', stderr: r.error.message };
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The last JSON line a program printed, or null. */
function lastJson(text) {
  const line = text.trim().split('\n').pop();
  try {
    return JSON.parse(line);
  } catch {
    return null;
  }
}

/** A user's environment: no npm_* variables from the npm that runs this
 * check, no FORKFUL_* switches, and PATH = `bin` (+ `more`). */
function userEnv(bin, more = []) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|FORKFUL_|PREBUILDS_ONLY$|LIBC$|NODE_OPTIONS$|INIT_CWD$)/i.test(k)) env[k] = v;
  }
  env.PATH = [bin, ...more].join(path.delimiter);
  return env;
}

/** A folder holding only `node` (the pinned one) and `sh` (npm runs
 * install scripts with it): no compiler, no make, no python. */
function bareBin(dir, nodeHome) {
  fs.mkdirSync(dir, { recursive: true });
  fs.symlinkSync(path.join(nodeHome, 'bin', 'node'), path.join(dir, 'node'));
  fs.symlinkSync('/bin/sh', path.join(dir, 'sh'));
  return dir;
}

/** Which build tools a PATH still reaches (none, for the no-compiler checks). */
function toolsOn(pathValue) {
  const tools = ['cc', 'gcc', 'g++', 'c++', 'clang', 'clang++', 'make', 'python3', 'python'];
  return tools.filter((t) =>
    pathValue.split(path.delimiter).some((d) => fs.existsSync(path.join(d, t))),
  );
}

// npm's own CLI, run by whichever Node a check uses (the registry's Node
// packages carry no npm).
function npmCli() {
  const which = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
  if (!which) throw new Error('npm not found on PATH');
  const cli = path.join(path.dirname(fs.realpathSync(which)), 'npm-cli.js');
  if (!fs.existsSync(cli)) throw new Error(`npm's CLI not found next to ${which}`);
  return cli;
}

/** A fresh project in `dir` with the tarball installed; returns npm's result. */
function freshInstall(dir, tarball, node, env, extra) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    `${JSON.stringify({ name: 'forkful-smoke', version: '1.0.0', private: true }, null, 2)}\n`,
  );
  fs.copyFileSync(path.join(__dirname, 'package-smoke.js'), path.join(dir, 'smoke.js'));
  return run(
    node,
    [npmCli(), 'install', tarball, '--no-audit', '--no-fund', '--prefer-offline', ...extra],
    { cwd: dir, env, timeout: 5 * MINUTE },
  );
}

/** Checks the smoke program's report from a run on the fork backend. */
function checkSmoke(label, r, expected) {
  const out = lastJson(r.stdout);
  if (r.status !== 0 || !out || out.error) {
    bad(
      `${label}: smoke program failed (${r.status}): ${out?.error ?? ''}${r.stderr.slice(-2000)}`,
    );
    return;
  }
  const s = out.status;
  const problems = [];
  if (!s.loaded) problems.push(`addon not loaded: ${s.reason}`);
  if (s.source !== expected.source)
    problems.push(`source ${s.source}, expected ${expected.source}`);
  if (!s.binary || !s.binary.endsWith(expected.binary)) problems.push(`binary ${s.binary}`);
  if (s.builtFor?.version !== expected.version) problems.push(`built for ${s.builtFor?.version}`);
  if (s.backend !== 'fork' || out.startMethod !== 'fork')
    problems.push(`backend ${s.backend}/${out.startMethod}`);
  if (out.forkExit !== 7) problems.push(`os.fork child exit ${out.forkExit}`);
  if (JSON.stringify(out.poolMap) !== '[3,6,9,12]')
    problems.push(`Pool.map gave ${JSON.stringify(out.poolMap)}`);
  if (out.lockHeldElsewhere !== true) problems.push('a child took a Lock its parent held');
  if (out.lockCount !== 4000 || JSON.stringify(out.counterExits) !== '[0,0]') {
    problems.push(`counting under the Lock gave ${out.lockCount}, exits ${out.counterExits}`);
  }
  if (!(out.threadId > 0)) problems.push(`Thread wrote ${out.threadId}`);
  if (/ForkfulWarning/.test(r.stderr)) problems.push(`warned: ${r.stderr.trim()}`);
  check(
    problems.length === 0,
    `${label}: ${path.relative(path.join(expected.project, 'node_modules', 'forkful'), s.binary ?? '')}: ` +
      'fork, Pool.map, cross-process Lock, Thread on the fork backend',
    problems.join('; '),
  );
}

const ESM_PROGRAM = `
  import forkful, { nativeStatus, multiprocessing } from 'forkful';
  import os from 'forkful/os';
  import { Pool } from 'forkful/multiprocessing';
  import { Thread } from 'forkful/threading';
  import { spawn } from 'forkful/coroutine';
  console.log(JSON.stringify({
    loaded: nativeStatus().loaded,
    defaultIsCjs: forkful.multiprocessing === multiprocessing && typeof forkful.fork === 'function',
    subpaths: [typeof os.fork, typeof Pool, typeof Thread, typeof spawn],
  }));`;

function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'forkful-package-check-'));
  try {
    checkAll(work);
  } finally {
    if (opts.keep) console.log(`(kept ${work})`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
  console.log(
    `\n${failed === 0 ? 'package checks out' : `${failed} failed`} (${((Date.now() - started) / 1000).toFixed(0)} s)`,
  );
  process.exitCode = failed === 0 ? 0 : 1;
}

function checkAll(work) {
  if (root.startsWith(work) || work.startsWith(root))
    throw new Error('the scratch folder must be outside the repository');

  step('npm pack (prepack builds any missing prebuild; prepare builds dist/)');
  const packed = run('npm', ['pack', '--json', '--pack-destination', work], {
    cwd: root,
    timeout: 60 * MINUTE,
  });
  if (packed.status !== 0) {
    bad(`npm pack failed: ${packed.stderr.slice(-3000)}`);
    return;
  }
  const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[')))[0];
  const tarball = path.join(work, info.filename);
  const files = info.files.map((f) => f.path);
  console.log(
    `${info.filename}: ${(info.size / 1024).toFixed(0)} KiB packed, ` +
      `${(info.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${info.entryCount} files`,
  );
  const prebuildBytes = info.files
    .filter((f) => f.path.startsWith('prebuilds/'))
    .reduce((n, f) => n + f.size, 0);
  console.log(`prebuilds: ${(prebuildBytes / 1024).toFixed(0)} KiB unpacked`);

  const expected = [];
  for (const target of targets) {
    for (const major of Object.keys(pins.majors))
      expected.push(`prebuilds/${fileFor(major, target)}`);
  }
  const missing = expected.filter((f) => !files.includes(f));
  check(
    missing.length === 0,
    `the tarball has all ${expected.length} prebuilds`,
    `missing ${missing.join(', ')}`,
  );
  for (const f of expected.filter((e) => files.includes(e))) console.log(`       ${f}`);
  const extra = files.filter((f) => f.startsWith('prebuilds/') && !expected.includes(f));
  check(extra.length === 0, 'no prebuild for an unsupported Node or target', extra.join(', '));
  const unwanted = files.filter((f) =>
    /\.map$|tsbuildinfo|^(lib|test|bench|examples|build|build-cmake|\.ci)\/|^CMakeLists|manifest\.json$/.test(
      f,
    ),
  );
  check(
    unwanted.length === 0,
    'nothing users do not need (maps, tsbuildinfo, tests, sources)',
    unwanted.join(', '),
  );
  const needed = [
    'LICENSE',
    'README.md',
    'package.json',
    'binding.gyp',
    'scripts/install.js',
    'esm/index.mjs',
    'esm/index.d.mts',
    'dist/index.js',
    'dist/index.d.ts',
    'docs/multiprocessing.md',
  ];
  const absent = needed.filter((f) => !files.includes(f));
  check(
    absent.length === 0,
    'LICENSE, README, docs, types, ESM entries, install script, sources to build from',
    absent.join(', '),
  );

  step('publint and @arethetypeswrong/cli on the tarball');
  const publint = run(
    process.execPath,
    [path.join(root, 'node_modules', 'publint', 'src', 'cli.js'), 'run', tarball, '--strict'],
    { cwd: root },
  );
  const publintSaid = publint.stdout
    .split('\n')
    .filter((l) => l && !/^(Running publint|Unpacking tarball|Linting\.\.\.|All good!)/.test(l));
  check(
    publint.status === 0 && publintSaid.length === 0 && /^All good!/m.test(publint.stdout),
    'publint --strict: all good (no errors, warnings or suggestions)',
    `${publint.stdout}${publint.stderr}`,
  );
  const attw = run(
    process.execPath,
    [
      path.join(root, 'node_modules', '@arethetypeswrong', 'cli', 'dist', 'index.js'),
      tarball,
      '--format',
      'table-flipped',
    ],
    { cwd: root, env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' } },
  );
  check(
    attw.status === 0 && /No problems found/.test(attw.stdout),
    '@arethetypeswrong/cli: no problems under node10, node16 (CJS and ESM), bundler',
    `${attw.stdout}${attw.stderr}`,
  );
  console.log(attw.stdout.trim().replace(/^/gm, '       '));

  for (const major of opts.majors) {
    const version = versionOf(major);
    const home = install(major);
    const node = path.join(home, 'bin', 'node');
    const bin = bareBin(path.join(work, `bin-${major}`), home);
    const env = userEnv(bin);
    const x64 = targets.find((t) => t.arch === process.arch);
    const binary = `prebuilds/${fileFor(major, x64)}`;
    step(`Node ${version}: fresh projects, no compiler on PATH`);
    const reachable = toolsOn(env.PATH);
    check(reachable.length === 0, `PATH reaches no build tool`, reachable.join(', '));

    const plain = path.join(work, `node${major}-ignore-scripts`);
    let r = freshInstall(plain, tarball, node, env, ['--ignore-scripts']);
    check(r.status === 0, `npm install <tarball> --ignore-scripts`, r.stderr.slice(-2000));
    if (r.status === 0) {
      checkSmoke(`  smoke`, run(node, ['smoke.js'], { cwd: plain, env }), {
        source: 'prebuild',
        binary,
        version,
        project: plain,
      });
      const esm = run(node, ['--input-type=module', '-e', ESM_PROGRAM], { cwd: plain, env });
      const e = lastJson(esm.stdout);
      check(
        esm.status === 0 &&
          e?.loaded &&
          e.defaultIsCjs &&
          e.subpaths.every((t) => t === 'function'),
        '  ESM: default and named imports of forkful and its four subpaths',
        `${esm.stdout}${esm.stderr}`,
      );
    }

    if (major === String(pins.current)) checkTypes(plain, node, env);

    const scripted = path.join(work, `node${major}-scripts`);
    r = freshInstall(scripted, tarball, node, env, ['--foreground-scripts']);
    const said = `${r.stdout}${r.stderr}`;
    check(
      r.status === 0 &&
        said.includes(`forkful: using ${binary} (no compiler needed)`) &&
        !fs.existsSync(path.join(scripted, 'node_modules', 'forkful', 'build')),
      `npm install <tarball> (install script runs): uses ${binary}, compiles nothing`,
      said.slice(-2000),
    );
    if (r.status === 0) {
      checkSmoke(`  smoke`, run(node, ['smoke.js'], { cwd: scripted, env }), {
        source: 'prebuild',
        binary,
        version,
        project: scripted,
      });
    }
  }

  if (opts.source) checkNoMatch(work, tarball);
  if (opts.arm64) checkArm64(work, tarball);
  console.log(
    `\ntarball: ${info.filename}, ${(info.size / 1024).toFixed(0)} KiB (${info.size} bytes)`,
  );
}

/** TypeScript consumers of the installed package: `import forkful from
 * 'forkful'` and the subpaths under node16 (ESM and CJS) and node10. */
function checkTypes(project, node, env) {
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const base = ['--noEmit', '--strict', '--skipLibCheck', '--target', 'es2022'];
  fs.writeFileSync(
    path.join(project, 'esm.mts'),
    "import forkful, { nativeStatus } from 'forkful';\n" +
      "import { Pool } from 'forkful/multiprocessing';\n" +
      "import os from 'forkful/os';\n" +
      'const loaded: boolean = nativeStatus().loaded && forkful.nativeStatus().loaded;\n' +
      'const pid: number = os.getpid();\n' +
      'export { Pool, loaded, pid };\n',
  );
  fs.writeFileSync(
    path.join(project, 'cjs.ts'),
    "import { nativeStatus } from 'forkful';\n" +
      "import { Pool } from 'forkful/multiprocessing';\n" +
      "import { Thread } from 'forkful/threading';\n" +
      "import { spawn } from 'forkful/coroutine';\n" +
      "import { fork } from 'forkful/os';\n" +
      'export const all = [nativeStatus, Pool, Thread, spawn, fork];\n',
  );
  const runs = [
    ['node16, ESM: default and named imports', ['--module', 'node16', 'esm.mts']],
    ['node16, CJS: the subpaths', ['--module', 'node16', 'cjs.ts']],
    [
      'node10 (moduleResolution node): the subpaths',
      ['--module', 'commonjs', '--moduleResolution', 'node10', 'cjs.ts'],
    ],
  ];
  for (const [what, args] of runs) {
    const r = run(node, [tsc, ...base, ...args], { cwd: project, env });
    check(r.status === 0, `  TypeScript ${what} type-check`, `${r.stdout}${r.stderr}`);
  }
}

/** No prebuild matches (LIBC=musl: as on Alpine, for which none ships). */
function checkNoMatch(work, tarball) {
  const major = String(pins.current);
  const version = versionOf(major);
  const home = install(major);
  const node = path.join(home, 'bin', 'node');
  const bin = bareBin(path.join(work, 'bin-nomatch'), home);

  step(
    `Node ${version}, no matching prebuild (LIBC=musl), a compiler on PATH: the install compiles`,
  );
  const compiled = path.join(work, 'nomatch-compiler');
  // node-gyp gets the headers from the pinned Node's package (no nodejs.org).
  const withCompiler = {
    ...userEnv(bin, [process.env.PATH]),
    LIBC: 'musl',
    npm_config_nodedir: home,
  };
  let r = freshInstall(compiled, tarball, node, withCompiler, ['--foreground-scripts']);
  const pkg = path.join(compiled, 'node_modules', 'forkful');
  check(
    r.status === 0 &&
      `${r.stdout}${r.stderr}`.includes('forkful: compiled build/Release/forkful.node'),
    'npm install <tarball>: no prebuild matches, compiled from source',
    `${r.stdout}${r.stderr}`.slice(-3000),
  );
  if (r.status === 0) {
    checkSmoke(
      '  smoke',
      run(node, ['smoke.js'], { cwd: compiled, env: withCompiler, timeout: 2 * MINUTE }),
      {
        source: 'build',
        binary: 'build/Release/forkful.node',
        version,
        project: compiled,
      },
    );
    check(
      !fs.existsSync(path.join(pkg, 'build', 'forkful-install.json')),
      '  no failure note left',
    );
  }

  step(
    `Node ${version}, no matching prebuild (LIBC=musl), no compiler: the install succeeds, forkful says why once`,
  );
  const broken = path.join(work, 'nomatch-nocompiler');
  const env = { ...userEnv(bin), LIBC: 'musl', npm_config_nodedir: home };
  r = freshInstall(broken, tarball, node, env, ['--foreground-scripts']);
  const said = `${r.stdout}${r.stderr}`;
  check(
    r.status === 0 && said.includes('the native addon could not be built'),
    'npm install <tarball> succeeds and says the addon could not be built',
    said.slice(-3000),
  );
  // First use: one warning for the whole process tree (this process, a
  // spawned Process child, a Thread), with the reason and the fix.
  const program = `
    const forkful = require('forkful');
    const { Process } = require('forkful/multiprocessing');
    const { Thread } = require('forkful/threading');
    const s = forkful.nativeStatus();
    const p = new Process({ target: function child() { require('forkful'); } });
    p.start();
    const t = new Thread({ target: function inThread() { require('forkful'); } });
    t.start();
    Promise.all([p.join(30), t.join(30)]).then(() => {
      let fork = null;
      try { forkful.fork(); } catch (e) { fork = e.name + ': ' + e.message; }
      console.log(JSON.stringify({ s, exitcode: p.exitcode, fork }));
    });`;
  const used = run(node, ['-e', program], { cwd: broken, env });
  const out = lastJson(used.stdout);
  const warnings = used.stderr.split('FORKFUL_NO_NATIVE_ADDON').length - 1;
  check(
    used.status === 0 &&
      out &&
      !out.s.loaded &&
      out.s.backend === 'spawn' &&
      out.exitcode === 0 &&
      /compiling it at install failed/.test(out.s.reason) &&
      /npm rebuild forkful/.test(out.s.fix) &&
      /^NotSupportedError: .*npm rebuild forkful/.test(out.fork ?? ''),
    '  nativeStatus() says not loaded, why (the failed compile) and the fix; Process runs on spawn; fork() throws naming the fix',
    `${used.stdout}${used.stderr}`.slice(-3000),
  );
  check(
    warnings === 1 &&
      /Why: .*compiling it at install failed/.test(used.stderr) &&
      /Fix: .*npm rebuild forkful/.test(used.stderr),
    '  one ForkfulWarning at first use (not repeated by the spawned child or the Thread), with why and the fix',
    `${warnings} warnings: ${used.stderr.slice(-3000)}`,
  );
  if (out) console.log(`       reason: ${out.s.reason}`);
}

/** The arm64 prebuilds, under each major's arm64 Node, through qemu. */
function checkArm64(work, tarball) {
  const arm = targets.find((t) => t.arch === 'arm64');
  step('linux-arm64 prebuilds under qemu-user-static');
  const qemu = spawnSync('sh', ['-c', 'command -v qemu-aarch64-static'], {
    encoding: 'utf8',
  }).stdout.trim();
  const sysroot = `/usr/${arm.triple}`;
  if (!qemu || !fs.existsSync(path.join(sysroot, 'lib'))) {
    bad(
      `qemu-aarch64-static or the ${arm.triple} libraries are missing: apt-get install ` +
        `qemu-user-static ${arm.apt} (or pass --no-arm64)`,
    );
    return;
  }
  // npm is architecture-blind here (--ignore-scripts; no dependency has a
  // binary), so the project is installed once, by the host's Node.
  const project = path.join(work, 'arm64');
  const hostHome = install(String(pins.current));
  const bin = bareBin(path.join(work, 'bin-arm64'), hostHome);
  const env = userEnv(bin);
  const r = freshInstall(project, tarball, path.join(hostHome, 'bin', 'node'), env, [
    '--ignore-scripts',
  ]);
  check(r.status === 0, 'npm install <tarball> --ignore-scripts', r.stderr.slice(-2000));
  if (r.status !== 0) return;
  for (const major of opts.majors) {
    const version = versionOf(major);
    const armNode = path.join(install(major, 'linux', 'arm64'), 'bin', 'node');
    const smoke = run(qemu, ['-L', sysroot, armNode, 'smoke.js'], {
      cwd: project,
      env,
      timeout: 5 * MINUTE,
    });
    const binary = `prebuilds/${fileFor(major, arm)}`;
    checkSmoke(`Node ${version} arm64 (qemu)`, smoke, {
      source: 'prebuild',
      binary,
      version,
      project,
    });
  }
}

main();
