// The newest symbol version an ELF shared object needs from each library
// family (GLIBC_2.34, GLIBCXX_3.4.29, CXXABI_1.3.9, GCC_3.0): what decides the
// oldest Linux distribution a prebuild loads on. Read with binutils' readelf,
// which understands every architecture's ELF (an arm64 binary on an x64 host).
'use strict';
const { execFileSync } = require('node:child_process');

/** Compares dotted versions numerically: '2.9' < '2.34'. */
function compareVersions(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** { GLIBC: '2.34', GLIBCXX: '3.4.29', ... }: the newest version needed per family. */
function elfNeeds(file) {
  let out;
  try {
    out = execFileSync('readelf', ['--version-info', '--wide', file], {
      encoding: 'utf8',
      maxBuffer: 16 << 20,
      timeout: 30000,
    });
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error('readelf not found: install binutils');
    throw err;
  }
  const needs = {};
  const section = out.slice(out.indexOf(".gnu.version_r'"));
  for (const [, family, version] of section.matchAll(/Name: ([A-Z]+)_([0-9.]+)/g)) {
    if (!needs[family] || compareVersions(version, needs[family]) > 0) needs[family] = version;
  }
  return needs;
}

/** The families in which `needs` exceeds `floor`, as readable strings. */
function aboveFloor(needs, floor) {
  return Object.entries(floor)
    .filter(([family, max]) => needs[family] && compareVersions(needs[family], max) > 0)
    .map(([family, max]) => `${family}_${needs[family]} (floor ${family}_${max})`);
}

module.exports = { elfNeeds, aboveFloor, compareVersions };
