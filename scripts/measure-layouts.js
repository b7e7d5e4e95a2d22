#!/usr/bin/env node
// Measures the two ways of shipping the prebuilt binaries, from the same
// files, with `npm pack`:
//   A. in the tarball (bufferutil's way: prebuilds/<platform>-<arch>/ inside
//      forkful, what forkful does);
//   B. one package per platform (sharp's way): forkful without prebuilds/
//      and with optionalDependencies on @forkful/<platform>-<arch>-<libc>, each
//      carrying that platform's binaries and os/cpu/libc fields so npm
//      installs only the matching one.
// It prints what a user downloads and what the release publishes each way.
// Nothing is published; everything happens in a scratch folder.
//
//   node scripts/measure-layouts.js [forkful-x.y.z.tgz]   (default: npm pack here)
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const MINUTE = 60 * 1000;

function pack(dir, dest, extra = []) {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dest, ...extra], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60 * MINUTE,
  });
  const info = JSON.parse(out.slice(out.indexOf('[')))[0];
  return { name: info.name, file: info.filename, size: info.size, unpacked: info.unpackedSize };
}

const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;

function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'forkful-layouts-'));
  try {
    const a = process.argv[2]
      ? { file: path.resolve(process.argv[2]), size: fs.statSync(process.argv[2]).size }
      : pack(root, work);
    const tarball = a.file.startsWith('/') ? a.file : path.join(work, a.file);
    execFileSync('tar', ['xzf', tarball, '-C', work], { timeout: MINUTE });
    const pkgDir = path.join(work, 'package');
    const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));

    // B: one package per prebuilds/<platform>-<arch>, plus forkful without them.
    const platforms = fs.readdirSync(path.join(pkgDir, 'prebuilds'));
    const parts = [];
    const optional = {};
    for (const platform of platforms) {
      const [osName, cpu] = platform.split('-');
      const binaries = fs.readdirSync(path.join(pkgDir, 'prebuilds', platform));
      const libc = binaries.some((b) => b.includes('.musl.')) ? 'musl' : 'glibc';
      const name = `@forkful/${platform}-${libc === 'glibc' ? 'gnu' : 'musl'}`;
      const dir = path.join(work, name.replace('/', '+'));
      fs.mkdirSync(dir);
      for (const b of binaries) {
        fs.copyFileSync(path.join(pkgDir, 'prebuilds', platform, b), path.join(dir, b));
      }
      fs.copyFileSync(path.join(pkgDir, 'LICENSE'), path.join(dir, 'LICENSE'));
      fs.writeFileSync(
        path.join(dir, 'package.json'),
        JSON.stringify({
          name,
          version: pkg.version,
          description: `forkful's native addon for ${platform} (${libc})`,
          license: pkg.license,
          repository: pkg.repository,
          os: [osName],
          cpu: [cpu],
          libc: [libc],
          files: ['*.node'],
        }),
      );
      parts.push({ platform, ...pack(dir, work, ['--ignore-scripts']) });
      optional[name] = pkg.version;
    }
    fs.rmSync(path.join(pkgDir, 'prebuilds'), { recursive: true });
    pkg.files = pkg.files.filter((f) => !f.startsWith('prebuilds'));
    pkg.optionalDependencies = optional;
    fs.writeFileSync(path.join(pkgDir, 'package.json'), JSON.stringify(pkg, null, 2));
    const main = pack(pkgDir, work, ['--ignore-scripts']);

    console.log('A. prebuilds in the tarball (what forkful ships)');
    console.log(`   ${path.basename(tarball)}: ${kib(a.size)} (${a.size} bytes)`);
    console.log(
      `   every user downloads ${kib(a.size)}; a release publishes 1 package, ${kib(a.size)}`,
    );
    console.log("B. one package per platform (sharp's way)");
    console.log(`   forkful without prebuilds: ${kib(main.size)} (${main.size} bytes)`);
    for (const p of parts) console.log(`   ${p.name}: ${kib(p.size)} (${p.size} bytes)`);
    for (const p of parts) {
      console.log(
        `   a ${p.platform} user downloads ${kib(main.size + p.size)} (${main.size + p.size} bytes)`,
      );
    }
    const total = main.size + parts.reduce((n, p) => n + p.size, 0);
    console.log(`   a release publishes ${1 + parts.length} packages, ${kib(total)}`);
    const userB = main.size + Math.max(...parts.map((p) => p.size));
    console.log(
      `A costs a user ${kib(a.size - userB)} more (${((a.size / userB - 1) * 100).toFixed(0)}%) than B ` +
        `with ${parts.length} platforms; each platform added to A adds its binaries to every download.`,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main();
