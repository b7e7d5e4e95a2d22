#!/usr/bin/env node
// Builds the addon for every supported Node major (scripts/node-versions.json)
// into prebuilds/<platform>-<arch>/forkful.abi<N>.<libc>.node, the layout
// node-gyp-build and lib/core/native.ts look up. The addon uses Node's C++
// embedder API, so it is one binary per Node ABI. Each build runs in a
// scratch copy of the sources: the working tree's build/ is left alone.
//
//   npm run prebuild:all                     # linux-x64, every major
//   npm run prebuild:all -- --arch arm64     # cross-compiled (g++-aarch64-linux-gnu)
//   npm run prebuild:all -- --majors 24,26
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { install, pins, versionOf } = require('./node.js');

const root = path.join(__dirname, '..');

function parseArgs(argv) {
  const opts = { arch: 'x64', majors: Object.keys(pins.majors), jobs: 2 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--arch') opts.arch = argv[++i];
    else if (argv[i] === '--majors') opts.majors = argv[++i].split(',');
    else if (argv[i] === '--jobs') opts.jobs = Number(argv[++i]);
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return opts;
}

const cross = {
  arm64: {
    CC: 'aarch64-linux-gnu-gcc',
    CXX: 'aarch64-linux-gnu-g++',
    STRIP: 'aarch64-linux-gnu-strip',
  },
  x64: { CC: 'gcc', CXX: 'g++', STRIP: 'strip' },
};

/** A scratch copy of what node-gyp needs: binding.gyp, native/, and the
 * project's node_modules (node-addon-api) by link. */
function scratchTree() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkful-prebuild-'));
  fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
  fs.cpSync(path.join(root, 'native'), path.join(dir, 'native'), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

function build(major, arch, jobs) {
  const tools = cross[arch];
  if (!tools) throw new Error(`no toolchain known for arch ${arch}`);
  const headers = install(major, 'linux', arch); // the headers of that Node, for that arch
  const hostNode = install(major, 'linux', process.arch); // runs node-gyp
  const dir = scratchTree();
  try {
    const env = {
      ...process.env,
      PATH: `${path.join(hostNode, 'bin')}${path.delimiter}${process.env.PATH}`,
      npm_config_nodedir: headers,
      CC: tools.CC,
      CXX: tools.CXX,
      CC_host: 'gcc',
      CXX_host: 'g++',
    };
    const gyp = path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    try {
      execFileSync(
        path.join(hostNode, 'bin', 'node'),
        [gyp, 'rebuild', `--arch=${arch}`, '-j', String(jobs), '--release'],
        { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 },
      );
    } catch (err) {
      process.stderr.write(`${err.stdout}${err.stderr}`);
      throw new Error(`node-gyp failed for Node ${versionOf(major)} ${arch}`);
    }
    const abi = JSON.parse(
      fs.readFileSync(path.join(dir, 'build', 'config.gypi'), 'utf8').replace(/^#.*$/gm, ''),
    ).variables.node_module_version;
    const outDir = path.join(root, 'prebuilds', `linux-${arch}`);
    fs.mkdirSync(outDir, { recursive: true });
    const out = path.join(outDir, `forkful.abi${abi}.glibc.node`);
    fs.copyFileSync(path.join(dir, 'build', 'Release', 'forkful.node'), out);
    execFileSync(tools.STRIP, ['--strip-unneeded', out]);
    return out;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  for (const major of opts.majors) {
    const started = Date.now();
    const out = build(major, opts.arch, opts.jobs);
    const kb = Math.round(fs.statSync(out).size / 1024);
    console.log(
      `Node ${versionOf(major)} ${opts.arch}: ${path.relative(root, out)} (${kb} KiB, ` +
        `${((Date.now() - started) / 1000).toFixed(0)} s)`,
    );
  }
}

main();
