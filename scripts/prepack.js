#!/usr/bin/env node
// npm's prepack step (npm pack, npm publish): the package must carry a
// prebuilt binary for every pinned Node major and every target
// (scripts/prebuild-targets.json), built from the sources being packed. It
// builds those that are absent or stale (prebuild-all.js --missing: nothing
// when CI ran `npm run prebuild:all` first), and fails, saying what to
// install, when it cannot: a package without them would need a compiler on
// every user's machine.
//
// npm also packs a git dependency while installing it (npm install
// github:forkful/forkful): there npm_command is `install`, and building
// eight binaries is not wanted; the installed package compiles the addon
// for its own Node instead (scripts/install.js).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const command = process.env.npm_command;
if (command && command !== 'pack' && command !== 'publish') {
  console.error(`forkful prepack: skipping the prebuilds (npm ${command}, not pack or publish)`);
} else {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'prebuild-all.js'), '--missing'], {
    stdio: 'inherit',
    timeout: 60 * 60 * 1000,
  });
  if (r.status !== 0) {
    console.error(
      'forkful prepack: the prebuilt binaries could not be made, so this package is not packed ' +
        '(see above; `npm run prebuild:all` builds them)',
    );
    process.exitCode = 1;
  }
}
