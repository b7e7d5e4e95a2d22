#!/usr/bin/env node
// Builds the addon for every supported Node major (scripts/node-versions.json)
// and every target (scripts/prebuild-targets.json: linux-x64 and linux-arm64,
// glibc) into prebuilds/<platform>-<arch>/forkful.abi<N>.<libc>.node, the
// layout node-gyp-build and lib/core/native.ts use
// (prebuildify's naming). The addon uses
// Node's C++ embedder API, so it is one binary per Node ABI.
//
// Reproducible: each binary is compiled against the headers of the pinned Node
// of its line (the node-<platform>-<arch>@<version> registry package, so no
// network beyond the npm registry), in a scratch copy of the sources (the
// working tree's build/ is left alone), with Debian's g++ (cross-compiled
// for arm64 with g++-aarch64-linux-gnu), and stripped. Two runs give the same
// bytes; prebuilds/manifest.json records each binary's inputs, compiler,
// sha256 and the glibc/libstdc++ versions it needs (refused above the floor
// in prebuild-targets.json).
//
//   npm run prebuild:all                        # every target, every major
//   npm run prebuild:all -- --arch arm64        # one target
//   npm run prebuild:all -- --majors 24,26
//   npm run prebuild:all -- --missing           # only absent or stale ones (prepack)
//   npm run prebuild:all -- --status            # says what is absent or stale; builds nothing
'use strict';
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { install, pins, versionOf } = require('./node.js');
const { elfNeeds, aboveFloor } = require('./elf-needs.js');
const config = require('./prebuild-targets.json');

const root = path.join(__dirname, '..');
const manifestFile = path.join(root, 'prebuilds', 'manifest.json');
const BUILD_TIMEOUT_MS = 15 * 60 * 1000;

function parseArgs(argv) {
  const opts = {
    arches: config.targets.map((t) => t.arch),
    majors: Object.keys(pins.majors),
    jobs: 2,
    missing: false,
    status: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    if (argv[i] === '--arch') opts.arches = value().split(',');
    else if (argv[i] === '--majors') opts.majors = value().split(',');
    else if (argv[i] === '--jobs') opts.jobs = Number(value());
    else if (argv[i] === '--missing') opts.missing = true;
    else if (argv[i] === '--status') opts.status = true;
    else
      throw new Error(`unknown option ${argv[i]} (--arch, --majors, --jobs, --missing, --status)`);
  }
  for (const arch of opts.arches) targetOf(arch);
  for (const major of opts.majors) versionOf(major);
  return opts;
}

function targetOf(arch) {
  const target = config.targets.find((t) => t.arch === arch);
  if (!target) {
    throw new Error(
      `no prebuild target for arch '${arch}' (scripts/prebuild-targets.json has ` +
        `${config.targets.map((t) => t.arch).join(', ')})`,
    );
  }
  return target;
}

/** The compilers for `target`: the machine's own when it is that arch, else
 * Debian's cross compilers (<triple>-g++). Fails with the package to install. */
function toolchain(target) {
  const prefix = target.arch === process.arch ? '' : `${target.triple}-`;
  const tools = { CC: `${prefix}gcc`, CXX: `${prefix}g++`, STRIP: `${prefix}strip` };
  let version;
  try {
    version = execFileSync(tools.CXX, ['--version'], { encoding: 'utf8', timeout: 10000 });
  } catch (err) {
    throw new Error(
      `${tools.CXX} is needed to build the ${target.platform}-${target.arch} prebuilds ` +
        `(${err.code === 'ENOENT' ? 'not found' : err.message}): apt-get install ${
          prefix ? target.apt : 'g++ make python3'
        }`,
    );
  }
  return { ...tools, version: version.split('\n')[0] };
}

function sha256(data) {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** What a binary is made of, apart from the Node and the compiler: binding.gyp,
 * native/* and node-addon-api's version. */
function sourcesHash() {
  const hash = crypto.createHash('sha256');
  const files = ['binding.gyp'].concat(
    fs
      .readdirSync(path.join(root, 'native'))
      .sort()
      .map((f) => `native/${f}`),
  );
  for (const file of files) hash.update(`${file}\0`).update(fs.readFileSync(path.join(root, file)));
  hash.update(require('node-addon-api/package.json').version);
  return hash.digest('hex');
}

function readManifest() {
  try {
    return JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  } catch {
    return { builds: {} };
  }
}

/** A scratch copy of what node-gyp needs: binding.gyp, native/, and the
 * project's node_modules (node-addon-api) by link. */
function scratchTree() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkful-prebuild-'));
  fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(dir, 'binding.gyp'));
  fs.cpSync(path.join(root, 'native'), path.join(dir, 'native'), { recursive: true });
  fs.symlinkSync(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  return dir;
}

/** The ABI (NODE_MODULE_VERSION) of a Node from its headers. */
function abiOf(headers) {
  const h = fs.readFileSync(path.join(headers, 'include', 'node', 'node_version.h'), 'utf8');
  const m = /#define NODE_MODULE_VERSION (\d+)/.exec(h);
  if (!m) throw new Error(`no NODE_MODULE_VERSION in ${headers}/include/node/node_version.h`);
  return Number(m[1]);
}

/** Where the prebuild for (major, target) goes, relative to prebuilds/. */
function fileFor(major, target) {
  const headers = install(major, target.platform, target.arch);
  return `${target.platform}-${target.arch}/forkful.abi${abiOf(headers)}.${target.libc}.node`;
}

/** The inputs that decide a binary's bytes: sources, Node version, compiler. */
function inputsOf(major, target, tools, sources) {
  return sha256([sources, versionOf(major), target.arch, tools.version].join('\n'));
}

/** Why the prebuild is stale, or null when it is what these inputs make. */
function staleness(rel, inputs, manifest) {
  const file = path.join(root, 'prebuilds', rel);
  if (!fs.existsSync(file)) return 'absent';
  const entry = manifest.builds[rel];
  if (!entry) return 'not in prebuilds/manifest.json';
  if (entry.sha256 !== sha256(fs.readFileSync(file))) return 'changed since it was built';
  if (entry.inputs !== inputs) return 'built from other sources, Node or compiler';
  return null;
}

function build(major, target, tools, jobs) {
  const headers = install(major, target.platform, target.arch); // that Node's headers, that arch
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
        [gyp, 'rebuild', `--arch=${target.arch}`, '-j', String(jobs), '--release'],
        {
          cwd: dir,
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          maxBuffer: 64 << 20,
          timeout: BUILD_TIMEOUT_MS,
        },
      );
    } catch (err) {
      process.stderr.write(`${err.stdout ?? ''}${err.stderr ?? ''}`);
      const why = err.signal ? `killed by ${err.signal} (limit ${BUILD_TIMEOUT_MS / 1000} s)` : '';
      throw new Error(`node-gyp failed for Node ${versionOf(major)} ${target.arch} ${why}`);
    }
    const abi = JSON.parse(
      fs.readFileSync(path.join(dir, 'build', 'config.gypi'), 'utf8').replace(/^#.*$/gm, ''),
    ).variables.node_module_version;
    if (abi !== abiOf(headers))
      throw new Error(`node-gyp built ABI ${abi}, headers say ${abiOf(headers)}`);
    const rel = fileFor(major, target);
    const out = path.join(root, 'prebuilds', rel);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    const tmp = `${out}.tmp`;
    fs.copyFileSync(path.join(dir, 'build', 'Release', 'forkful.node'), tmp);
    execFileSync(tools.STRIP, ['--strip-unneeded', tmp], { timeout: 60000 });
    const needs = elfNeeds(tmp);
    const above = aboveFloor(needs, config.floor);
    if (above.length > 0) {
      fs.rmSync(tmp);
      throw new Error(
        `${rel} needs ${above.join(', ')}: it would not load on distributions the README ` +
          'promises. Lower what native/ needs, or raise the floor in scripts/prebuild-targets.json ' +
          'and the README together.',
      );
    }
    fs.renameSync(tmp, out);
    return { rel, needs };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const sources = sourcesHash();
  const manifest = readManifest();
  let stale = 0;
  for (const arch of opts.arches) {
    const target = targetOf(arch);
    const tools = toolchain(target);
    for (const major of opts.majors) {
      const rel = fileFor(major, target);
      const inputs = inputsOf(major, target, tools, sources);
      const why = staleness(rel, inputs, manifest);
      if (opts.status || (opts.missing && !why)) {
        console.log(`${why ? 'stale' : 'ok   '} prebuilds/${rel}${why ? ` (${why})` : ''}`);
        if (why) stale++;
        continue;
      }
      const started = Date.now();
      const { needs } = build(major, target, tools, opts.jobs);
      const bytes = fs.readFileSync(path.join(root, 'prebuilds', rel));
      manifest.builds[rel] = {
        node: versionOf(major),
        target: `${target.platform}-${target.arch}-${target.libc}`,
        compiler: tools.version,
        inputs,
        sha256: sha256(bytes),
        bytes: bytes.length,
        needs,
      };
      fs.writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
      console.log(
        `Node ${versionOf(major)} ${target.arch}: prebuilds/${rel} (${Math.round(bytes.length / 1024)} KiB, ` +
          `sha256 ${manifest.builds[rel].sha256.slice(0, 12)}, needs GLIBC_${needs.GLIBC} ` +
          `GLIBCXX_${needs.GLIBCXX}, ${((Date.now() - started) / 1000).toFixed(0)} s)`,
      );
    }
  }
  if (opts.status && stale > 0) process.exitCode = 1;
}

if (require.main === module) {
  try {
    main();
  } catch (err) {
    console.error(`prebuild-all: ${err.message}`);
    process.exitCode = 1;
  }
}

module.exports = { fileFor, abiOf, targets: config.targets };
