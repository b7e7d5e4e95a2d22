#!/usr/bin/env node
// forkful's install script (package.json "install"; it ships in the package).
//
// Installed as a dependency (under node_modules):
// 1. Where a prebuilt binary in prebuilds/ loads under this Node, it does
//    nothing else: no compiler is needed (and with --ignore-scripts the same
//    binary is found at run time by lib/core/native.ts, by the same names).
// 2. Otherwise it compiles the addon with node-gyp and checks that the
//    result loads.
// 3. If that fails too, the install still succeeds: the reason goes to
//    build/forkful-install.json, and forkful prints it, with the fix, the
//    first time it is loaded (npm hides install scripts' output).
// In a source checkout (a clone: `npm install`, `npm ci`) it always compiles
// native/ as it is now, and a failed build fails the install: a developer
// tests the sources, never an older prebuild.
//
// FORKFUL_BUILD_FROM_SOURCE=1 (or npm's --build-from-source) skips step 1;
// FORKFUL_NO_NATIVE=1 skips everything.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const statusFile = path.join(root, 'build', 'forkful-install.json');
const BUILD_TIMEOUT_MS = 15 * 60 * 1000;
const LOAD_TIMEOUT_MS = 30 * 1000;
// Installed as a dependency (under node_modules), or a clone of the sources.
const sourceCheckout = !root.split(path.sep).includes('node_modules');

const say = (message) => console.error(`forkful: ${message}`);

/** The binaries lib/core/native.ts would pick, in its order: the local build,
 * then the prebuilds for this ABI and libc (most specific name first). */
function candidates() {
  const found = [];
  const local = path.join(root, 'build', 'Release', 'forkful.node');
  if (fs.existsSync(local)) found.push(local);
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let names = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    // no prebuilds for this platform
  }
  const libc = process.env.LIBC || (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
  const abi = `abi${process.versions.modules}`;
  const matching = names.filter((name) => {
    const tags = name.split('.');
    if (tags[0] !== 'forkful' || tags.at(-1) !== 'node' || !tags.includes(abi)) return false;
    const fileLibc = tags.find((t) => t === 'glibc' || t === 'musl');
    return !fileLibc || fileLibc === libc;
  });
  matching.sort((a, b) => b.split('.').length - a.split('.').length);
  return found.concat(matching.map((name) => path.join(dir, name)));
}

/** null when `file` loads under this Node and was built for it, else why not.
 * Loaded in a child process: a bad binary cannot take the installer down. */
function loadProblem(file) {
  const probe =
    'const a = require(process.argv[1]);' +
    'if (typeof a.abiMismatch === "string") { console.error(a.abiMismatch); process.exit(3); }' +
    'if (!a.builtFor || typeof a.fork !== "function") { console.error("not forkful\'s addon"); process.exit(4); }';
  const r = spawnSync(process.execPath, ['-e', probe, file], {
    encoding: 'utf8',
    timeout: LOAD_TIMEOUT_MS,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (r.error) return r.error.message;
  if (r.signal) return `loading it ended with ${r.signal}`;
  if (r.status !== 0) {
    const lines = r.stderr
      .split('\n')
      .filter((l) => /\S/.test(l) && !/^\s+at |^Require stack|^- /.test(l));
    return (
      lines.find((l) => /Error:|GLIBC|not found|built for/.test(l)) ||
      lines[0] ||
      `exit ${r.status}`
    );
  }
  return null;
}

/** The node-gyp to run: in a source checkout the project's own (a pinned
 * devDependency); installed, npm's (npm_config_node_gyp, what npm itself
 * runs for node-gyp packages); else whichever is on PATH. */
function nodeGyp() {
  const bundled = process.env.npm_config_node_gyp;
  if (!sourceCheckout && bundled && fs.existsSync(bundled)) return [process.execPath, [bundled]];
  try {
    const own = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
    return [process.execPath, [own]];
  } catch {
    // not installed next to forkful
  }
  if (bundled && fs.existsSync(bundled)) return [process.execPath, [bundled]];
  return ['node-gyp', []];
}

/** The first line of node-gyp's output that says why the build failed. */
function causeIn(output) {
  const lines = output.split('\n').map((l) => l.trim());
  const patterns = [
    /gyp ERR! stack Error: (.*)/,
    /gyp ERR! find Python (.*Python.*not.*)/i,
    /(\S+: (fatal )?error: .*)/,
    /(make: \*\*\* .*)/,
    /gyp ERR! (.*)/,
  ];
  for (const re of patterns) {
    for (const line of lines) {
      const m = re.exec(line);
      if (m) return m[1].slice(0, 300);
    }
  }
  return null;
}

/** Runs node-gyp rebuild, its output passed through; resolves to null on
 * success or the reason it failed. */
function compile() {
  const [command, prefix] = nodeGyp();
  const args = [...prefix, 'rebuild', '--release'];
  say(`compiling the native addon: ${path.basename(command)} ${args.join(' ')}`);
  return new Promise((resolve) => {
    let output = '';
    let child;
    try {
      child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolve(`could not start node-gyp: ${err.message}`);
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), BUILD_TIMEOUT_MS);
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk) => {
        process.stderr.write(chunk);
        output = (output + chunk).slice(-64 * 1024);
      });
    }
    child.on('error', (err) =>
      resolve(
        err.code === 'ENOENT'
          ? 'node-gyp was not found (install it, or run the install through npm, which brings its own)'
          : `could not start node-gyp: ${err.message}`,
      ),
    );
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(null);
      else if (signal === 'SIGKILL')
        resolve(`node-gyp took longer than ${BUILD_TIMEOUT_MS / 60000} min`);
      else
        resolve(
          `node-gyp exited with ${signal ?? `code ${code}`}: ${causeIn(output) ?? 'see its output'}`,
        );
    });
  });
}

function record(error) {
  if (error === null) {
    fs.rmSync(statusFile, { force: true });
    return;
  }
  fs.mkdirSync(path.dirname(statusFile), { recursive: true });
  const status = { node: process.version, platform: `${process.platform}-${process.arch}`, error };
  fs.writeFileSync(statusFile, `${JSON.stringify(status, null, 2)}\n`);
}

async function main() {
  if (process.env.FORKFUL_NO_NATIVE === '1') {
    say('FORKFUL_NO_NATIVE=1: the native addon is not built');
    return 0;
  }
  if (process.platform !== 'linux') {
    say(`the native addon is Linux-only: on ${process.platform} forkful runs without it`);
    return 0;
  }
  const fromSource =
    sourceCheckout ||
    process.env.FORKFUL_BUILD_FROM_SOURCE === '1' ||
    process.env.npm_config_build_from_source === 'true';
  const refused = [];
  if (!fromSource) {
    for (const file of candidates()) {
      const problem = loadProblem(file);
      if (problem === null) {
        record(null);
        say(`using ${path.relative(root, file)} (no compiler needed)`);
        return 0;
      }
      refused.push(`${path.relative(root, file)}: ${problem}`);
    }
    say(
      refused.length > 0
        ? `no binary here loads under Node ${process.version} (${refused.join('; ')})`
        : `no prebuilt binary for Node ${process.version} (ABI ${process.versions.modules}) on ` +
            `${process.platform}-${process.arch}`,
    );
  }
  let error = await compile();
  if (error === null) {
    const problem = loadProblem(path.join(root, 'build', 'Release', 'forkful.node'));
    if (problem !== null) error = `the addon compiled but does not load: ${problem}`;
  }
  record(error);
  if (error === null) {
    say('compiled build/Release/forkful.node');
    return 0;
  }
  const banner = '!'.repeat(78);
  console.error(
    [
      banner,
      'forkful: the native addon could not be built, so os.fork(), the fork start method,',
      'Pool, Pipe, Queue, the locks and shared values will not be available.',
      `  Why: ${error}`,
      '  Fix: install python3, make and a C++20 compiler (g++ 10+ or clang 10+),',
      '       then run `npm rebuild forkful`.',
      banner,
    ].join('\n'),
  );
  // A developer's clone must fail; a user's install goes on (forkful says
  // this again, once, when it is first loaded).
  return sourceCheckout ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    console.error(`forkful: install script failed: ${err.stack}`);
    process.exitCode = sourceCheckout ? 1 : 0;
  },
);
