// The package as a program meets it: nativeStatus() (which binary loaded, or
// why none did and the fix), the one warning when the addon is missing, the
// ESM entries (named and default imports) and the exports map. Child
// processes run the built package (dist/, esm/); the long install checks of
// the packed tarball are scripts/check-package.js (CI).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { nativeStatus } from '../../lib/index';
import { addonTested } from '../helpers/fixture';
import { needsAddon } from '../helpers/needs';

const root = path.join(__dirname, '..', '..');

/** Runs `code` in a fresh Node (bounded); returns its stdout's last JSON line and stderr. */
function inChild(code: string, env: Record<string, string> = {}, args: string[] = ['-e']) {
  const clean = { ...process.env };
  for (const k of ['FORKFUL_NATIVE_WARNED', 'FORKFUL_NO_NATIVE', 'FORKFUL_PREBUILD'])
    delete clean[k];
  const r = spawnSync(process.execPath, [...args, code], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30000,
    env: { ...clean, ...env },
  });
  expect(r.error).toBeUndefined();
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return { status: r.status, out: line ? JSON.parse(line) : null, stderr: r.stderr };
}

const warnings = (stderr: string) => stderr.split('FORKFUL_NO_NATIVE_ADDON').length - 1;

describe('nativeStatus()', () => {
  needsAddon.test('says which binary loaded here, built for this Node', () => {
    const s = nativeStatus();
    expect(s.loaded).toBe(true);
    expect(s.reason).toBeNull();
    expect(s.fix).toBeNull();
    expect(fs.existsSync(s.binary!)).toBe(true);
    expect(s.builtFor?.abi).toBe(Number(process.versions.modules));
    // The same line, maybe another patch release (a prebuild serves a whole line).
    expect(s.builtFor?.version.split('.')[0]).toBe(process.versions.node.split('.')[0]);
    expect(s.source).toBe(
      s.binary!.includes(`${path.sep}prebuilds${path.sep}`) ? 'prebuild' : 'build',
    );
    expect(s.backend).toBe(process.env.FORKFUL_START_METHOD === 'spawn' ? 'spawn' : 'fork');
  });

  test('without a usable binary: not loaded, why, the fix; one warning for the process tree', () => {
    // The binary named by FORKFUL_PREBUILD does not exist. A spawned Process
    // child and a Thread load forkful too, and must not warn again; those two
    // and the coroutines still work.
    const code = `
      const forkful = require('./dist');
      const { Process } = require('./dist/multiprocessing');
      const { Thread } = require('./dist/threading');
      const p = new Process({ target: function child() { require(${JSON.stringify(root)} + '/dist'); } });
      p.start();
      const t = new Thread({ target: function inThread() { require(${JSON.stringify(root)} + '/dist'); } });
      t.start();
      const g = forkful.coroutine.spawn(async () => 5);
      Promise.all([p.join(20), t.join(20), forkful.coroutine.joinall([g], { timeout: 20 })]).then(() => {
        let fork = null;
        try { forkful.fork(); } catch (e) { fork = e.name + ': ' + e.message; }
        console.log(JSON.stringify({ s: forkful.nativeStatus(), exitcode: p.exitcode, alive: t.isAlive(), greenlet: g.value, fork }));
      });`;
    const { status, out, stderr } = inChild(code, {
      FORKFUL_PREBUILD: '/nonexistent/forkful.node',
    });
    expect(status).toBe(0);
    expect(out.s).toMatchObject({ loaded: false, binary: null, source: null, builtFor: null });
    expect(out.s.backend).toBe('spawn');
    expect(out.s.reason).toContain('/nonexistent/forkful.node: Cannot find module');
    expect(out.s.reason).not.toContain('Require stack');
    expect(out.s.fix).toContain('FORKFUL_PREBUILD');
    expect(out.exitcode).toBe(0);
    expect(out.alive).toBe(false);
    expect(out.greenlet).toBe(5);
    expect(out.fork).toMatch(
      /^NotSupportedError: os\.fork\(\) needs forkful's native addon.*Fix: /,
    );
    expect(warnings(stderr)).toBe(1);
    expect(stderr).toContain('ForkfulWarning');
    expect(stderr).toMatch(/Why: no usable build .*nonexistent/);
    expect(stderr).toMatch(/Fix: point FORKFUL_PREBUILD/);
  });

  test("a binary whose recorded ABI (forkful.abi beside it) is another Node's is never dlopened", () => {
    // Not an ELF file: dlopen would fail with "invalid ELF header". The
    // reason given is the recorded ABI, so it was refused before loading.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'forkful-abi-'));
    try {
      fs.writeFileSync(path.join(dir, 'forkful.node'), 'not a shared object');
      fs.writeFileSync(path.join(dir, 'forkful.abi'), '1');
      const code = `console.log(JSON.stringify(require('./dist').nativeStatus()))`;
      const { status, out } = inChild(code, {
        FORKFUL_PREBUILD: path.join(dir, 'forkful.node'),
        FORKFUL_NATIVE_WARNED: '1',
      });
      expect(status).toBe(0);
      expect(out.loaded).toBe(false);
      expect(out.reason).toContain(
        `forkful.node: built for Node ABI 1, this is ${process.versions.modules}`,
      );
      expect(out.reason).not.toContain('ELF');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // A prebuild's name says its ABI; a local build records it beside itself.
  const localBuild = addonTested && nativeStatus().source === 'build';
  (localBuild ? test : test.skip)('a local build records the Node ABI it was built for', () => {
    const s = nativeStatus();
    const recorded = fs.readFileSync(path.join(path.dirname(s.binary!), 'forkful.abi'), 'utf8');
    expect(recorded.trim()).toBe(process.versions.modules);
  });

  test('FORKFUL_NO_NATIVE=1 is a choice: reported, not warned about', () => {
    const code = `console.log(JSON.stringify(require('./dist').nativeStatus()))`;
    const { status, out, stderr } = inChild(code, { FORKFUL_NO_NATIVE: '1' });
    expect(status).toBe(0);
    expect(out).toMatchObject({ loaded: false, reason: 'FORKFUL_NO_NATIVE=1', backend: 'spawn' });
    expect(out.fix).toBe('unset FORKFUL_NO_NATIVE');
    expect(warnings(stderr)).toBe(0);
  });

  test('is exported from the root, in CommonJS and ESM', () => {
    const code = `
      import forkful, { nativeStatus } from './esm/index.mjs';
      console.log(JSON.stringify({ same: nativeStatus === forkful.nativeStatus, loaded: nativeStatus().loaded }));`;
    const { status, out } = inChild(code, {}, ['--input-type=module', '-e']);
    expect(status).toBe(0);
    expect(out).toEqual({ same: true, loaded: true });
  });
});

describe('ESM entries', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const subpaths = Object.keys(pkg.exports).filter((k: string) => k !== './package.json');

  test.each(subpaths)('%s: named imports, and the default import is the CommonJS module', (sub) => {
    const entry = pkg.exports[sub];
    const code = `
      import * as ns from ${JSON.stringify(`./${entry.import.default.slice(2)}`)};
      import { createRequire } from 'node:module';
      const cjs = createRequire(import.meta.url)(${JSON.stringify(`./${entry.require.default.slice(2)}`)});
      const names = Object.keys(cjs).filter((k) => k !== '__esModule');
      console.log(JSON.stringify({
        defaultIsCjs: ns.default === cjs,
        missing: names.filter((k) => ns[k] !== cjs[k]),
        count: names.length,
      }));`;
    const { status, out, stderr } = inChild(code, {}, ['--input-type=module', '-e']);
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(out.defaultIsCjs).toBe(true);
    expect(out.missing).toEqual([]);
    expect(out.count).toBeGreaterThan(3);
  });

  test('every file the exports map and typesVersions name exists', () => {
    const files: string[] = [];
    for (const sub of subpaths) {
      const e = pkg.exports[sub];
      files.push(e.import.types, e.import.default, e.require.types, e.require.default);
    }
    for (const targets of Object.values(pkg.typesVersions['*']) as string[][])
      files.push(...targets);
    expect(files.filter((f) => !fs.existsSync(path.join(root, f)))).toEqual([]);
  });
});
