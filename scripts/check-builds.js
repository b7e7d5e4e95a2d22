#!/usr/bin/env node
// Proves that every build of the addon works where it is meant to:
//   - node-gyp's and cmake-js's builds of the same sources load in this Node
//     and export the same functions;
//   - each prebuild (prebuilds/<platform>-<arch>/forkful.abi<N>.<libc>.node)
//     loads under the pinned Node of its ABI, is the one forkful picks there
//     when it is all there is, and forks;
//   - a prebuild refuses the other Node lines (abiMismatch).
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { install, pins } = require('./node.js');

const root = path.join(__dirname, '..');
let failed = 0;
const ok = (what) => console.log(`ok   ${what}`);
const bad = (what) => {
  failed++;
  console.log(`FAIL ${what}`);
};

// 1. node-gyp and cmake-js, in this Node.
let reference = null;
for (const [name, file] of [
  ['node-gyp', 'build/Release/forkful.node'],
  ['cmake-js', 'build-cmake/Release/forkful.node'],
]) {
  try {
    const addon = require(path.join(root, file));
    if (addon.abiMismatch) throw new Error(addon.abiMismatch);
    const keys = Object.keys(addon).sort().join(',');
    reference ??= keys;
    if (keys !== reference) throw new Error(`exports differ from node-gyp's: ${keys}`);
    if (addon.getpid() !== process.pid) throw new Error('getpid() is wrong');
    ok(`${name}: ${file}`);
  } catch (err) {
    bad(`${name}: ${err.message}`);
  }
}

// 2. Each pinned major's prebuild, under that Node, alone.
const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const smoke = `
  const { native } = require('./dist/core/native');
  if (!native) throw new Error(require('./dist/core/native').nativeLoadError.message);
  const os = require('./dist/os');
  const pid = os.fork();
  if (pid === 0) os._exit(7);
  const [, status] = os.waitpid(pid, 0);
  console.log(JSON.stringify({ abi: native.builtFor.abi, exit: os.waitstatusToExitcode(status) }));`;
for (const [major, version] of Object.entries(pins.majors)) {
  const home = install(major);
  const node = path.join(home, 'bin', 'node');
  const abi = execFileSync(node, ['-p', 'process.versions.modules'], { encoding: 'utf8' }).trim();
  const file = fs.existsSync(dir) && fs.readdirSync(dir).find((f) => f.includes(`.abi${abi}.`));
  if (!file) {
    bad(`Node ${version}: no prebuild for ABI ${abi} in ${path.relative(root, dir)}`);
    continue;
  }
  try {
    // As an installed package without a local build sees it: the prebuild
    // folder only (PREBUILDS_ONLY, as node-gyp-build names it, skips build/).
    const out = execFileSync(node, ['-e', smoke], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, PREBUILDS_ONLY: '1' },
      timeout: 30000,
    });
    const r = JSON.parse(out.trim().split('\n').pop());
    if (r.abi !== Number(abi) || r.exit !== 7) throw new Error(`unexpected ${out}`);
    ok(`Node ${version}: ${path.relative(root, path.join(dir, file))} loads and forks`);
  } catch (err) {
    bad(`Node ${version}: ${file}: ${err.message}`);
  }
  // The same binary under another line must refuse.
  const other = Object.entries(pins.majors).find(([m]) => m !== major);
  if (other) {
    const otherNode = path.join(install(other[0]), 'bin', 'node');
    const said = execFileSync(
      otherNode,
      ['-p', `require(${JSON.stringify(path.join(dir, file))}).abiMismatch || 'accepted'`],
      { encoding: 'utf8' },
    ).trim();
    if (said.includes(`built for Node ${version}`)) ok(`  refused under Node ${other[1]}`);
    else bad(`  ${file} under Node ${other[1]}: ${said}`);
  }
}
console.log(failed === 0 ? 'all builds check out' : `${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
