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

/** Installs (once) and returns the folder holding bin/node and include/node.
 * Safe when several checkouts install the same Node at once: each unpacks
 * into its own temporary folder and renames it into place; the first wins. */
function install(major, platform = 'linux', arch = process.env.FORKFUL_NODE_ARCH || 'x64') {
  const version = versionOf(major);
  const name = `node-${platform}-${arch}`;
  const dir = path.join(cacheRoot, `${name}-${version}`);
  if (fs.existsSync(path.join(dir, '.complete'))) return path.join(dir, 'package');
  fs.mkdirSync(cacheRoot, { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    const out = execFileSync('npm', ['pack', `${name}@${version}`, '--silent'], {
      cwd: tmp,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 10 * 60 * 1000,
    }).trim();
    const tarball = path.join(tmp, out.split('\n').pop());
    execFileSync('tar', ['xzf', tarball, '-C', tmp], { timeout: 5 * 60 * 1000 });
    fs.rmSync(tarball);
    fs.writeFileSync(path.join(tmp, '.complete'), `${version}\n`);
    if (fs.existsSync(dir) && !fs.existsSync(path.join(dir, '.complete'))) {
      fs.rmSync(dir, { recursive: true, force: true }); // an older, interrupted install
    }
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      // Another process installed it meanwhile: keep theirs.
      if (!fs.existsSync(path.join(dir, '.complete'))) throw err;
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
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
