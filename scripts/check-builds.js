#!/usr/bin/env node
// Proves that the three builds of the addon (node-gyp, cmake-js, prebuildify)
// load in this Node and export the same functions, and that node-gyp-build
// picks the prebuild when no local build exists.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const builds = {
  'node-gyp': path.join(root, 'build/Release/forkful.node'),
  'cmake-js': path.join(root, 'build-cmake/Release/forkful.node'),
};
const prebuildDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
if (fs.existsSync(prebuildDir)) {
  for (const f of fs.readdirSync(prebuildDir)) {
    if (f.endsWith('.node')) builds[`prebuildify (${f})`] = path.join(prebuildDir, f);
  }
}

let failed = 0;
let reference = null;
for (const [name, file] of Object.entries(builds)) {
  try {
    const addon = require(file);
    const keys = Object.keys(addon).sort().join(',');
    reference ??= keys;
    if (keys !== reference) throw new Error(`exports differ from node-gyp's: ${keys}`);
    if (addon.getpid() !== process.pid) throw new Error('getpid() is wrong');
    console.log(`ok   ${name}: ${path.relative(root, file)}`);
  } catch (err) {
    failed++;
    console.log(`FAIL ${name}: ${err.message}`);
  }
}
if (!Object.keys(builds).some((n) => n.startsWith('prebuildify'))) {
  failed++;
  console.log(`FAIL prebuildify: nothing in ${path.relative(root, prebuildDir)}`);
} else {
  // What an installed package without a local build loads: node-gyp-build
  // looking at prebuilds only (its PREBUILDS_ONLY mode) must find ours.
  const { execFileSync } = require('node:child_process');
  const resolved = execFileSync(
    process.execPath,
    ['-p', `require('node-gyp-build').path(${JSON.stringify(root)})`],
    { env: { ...process.env, PREBUILDS_ONLY: '1' }, encoding: 'utf8' },
  ).trim();
  if (!resolved.startsWith(prebuildDir)) {
    failed++;
    console.log(`FAIL node-gyp-build resolves ${resolved}, not the prebuild`);
  } else {
    console.log(`ok   node-gyp-build (prebuilds only) resolves ${path.relative(root, resolved)}`);
  }
}
console.log(`${Object.keys(builds).length - failed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
