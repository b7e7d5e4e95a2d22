#!/usr/bin/env node
// Runs a command under one of the Node versions forkful supports, installing
// it first from the npm registry (the official binary and headers ship as
// node-<platform>-<arch>@<version>; no other network is needed).
//
//   node scripts/node.js 24 npm test        # the command under Node 24
//   node scripts/node.js 24 --path           # where Node 24 lives
//   node scripts/node.js all npm test        # under every supported major
//   FORKFUL_NODE_ARCH=arm64 node scripts/node.js 26 --path   # other arch
//
// Under a pinned Node the PATH starts with its bin/ (it has no npm: the
// machine's npm runs under it) and npm_config_nodedir points node-gyp at its
// headers, so `npm rebuild` builds the addon for that Node.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const pins = require('./node-versions.json');
const cacheRoot =
  process.env.FORKFUL_NODE_CACHE || path.join(os.homedir(), '.cache', 'forkful-node');

/** The exact version pinned for `major` ('24', 'windows'). */
function versionOf(major) {
  const version = major === 'windows' ? pins.windows : pins.majors[String(major)];
  if (!version) {
    throw new Error(
      `no pinned Node for '${major}' (pinned: ${Object.keys(pins.majors).join(', ')})`,
    );
  }
  return version;
}

/** Installs (once) and returns the folder holding bin/node and include/node. */
function install(major, platform = 'linux', arch = process.env.FORKFUL_NODE_ARCH || 'x64') {
  const version = versionOf(major);
  const name = `node-${platform}-${arch}`;
  const dir = path.join(cacheRoot, `${name}-${version}`);
  const marker = path.join(dir, '.complete');
  if (fs.existsSync(marker)) return path.join(dir, 'package');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const out = execFileSync('npm', ['pack', `${name}@${version}`, '--silent'], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const tarball = path.join(dir, out.split('\n').pop());
  execFileSync('tar', ['xzf', tarball, '-C', dir]);
  fs.rmSync(tarball);
  fs.writeFileSync(marker, `${version}\n`);
  return path.join(dir, 'package');
}

/** The environment that puts `home` (an installed Node) first. */
function envFor(home) {
  return {
    ...process.env,
    PATH: `${path.join(home, 'bin')}${path.delimiter}${process.env.PATH}`,
    npm_config_nodedir: home,
    FORKFUL_NODE_HOME: home,
  };
}

function main(argv) {
  const [which, ...command] = argv;
  if (!which) {
    console.error('usage: node scripts/node.js <major|all|windows> (--path | <command> ...)');
    return 2;
  }
  const majors = which === 'all' ? Object.keys(pins.majors) : [which];
  for (const major of majors) {
    const home = major === 'windows' ? install('windows', 'win', 'x64') : install(major);
    if (command[0] === '--path' || command.length === 0) {
      console.log(home);
      continue;
    }
    if (majors.length > 1) console.log(`--- Node ${versionOf(major)}: ${command.join(' ')}`);
    const r = spawnSync(command[0], command.slice(1), { stdio: 'inherit', env: envFor(home) });
    if (r.error) throw r.error;
    if (r.status !== 0) return r.status ?? 1;
  }
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

module.exports = { install, versionOf, envFor, pins };
